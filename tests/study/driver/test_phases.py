"""The sweep's phases: what is left of the search and of the requested seed re-runs, read from the results table."""

from __future__ import annotations

import json

from study.driver.phases import Unfinished, unfinished
from study.results.sweep_dir import SweepInfo
from study.spec.parse import parse_study
from tests.study.spec.samples import VALID


def _row(trial_id, value, *, seed=0, origin=None, status="COMPLETE", lr=1e-3):
    params = {"train.lr": lr, **({"train.seed": seed, "seed_of": origin} if origin else {})}
    return {"trial_id": trial_id, "status": status, "params": params,
            "config": {"train.lr": lr, "train.seed": seed}, "metrics": {"val/accuracy": value}}  # fmt: skip


def test_a_sweep_is_unfinished_while_requested_re_runs_have_not_ended_or_its_search_has_trials_left(tmp_path):
    study = parse_study({**VALID, "trials": 2})
    sweep = SweepInfo(tmp_path, {"seeds": {"seeds": 3, "top_k": 1}})

    def write(rows):
        (tmp_path / "results.json").write_text(json.dumps(rows))

    write([_row("a", 0.9, lr=1e-2)])
    assert unfinished(study, sweep) == Unfinished(1, 0)  # the search has a trial left
    (tmp_path / "search-ended.txt").write_text("50 suggestions in a row were refused")
    assert unfinished(study, sweep) == Unfinished(0, 2)  # it gave up: done; the best now needs 2 re-runs
    write([_row("a", 0.9, lr=1e-2), _row("a1", 0.8, seed=1, origin="a", lr=1e-2, status="FAILED"),
           _row("a2", 0.8, seed=2, origin="a", lr=1e-2, status="RUNNING")])  # fmt: skip
    assert unfinished(study, sweep) == Unfinished(0, 1)  # a failed re-run has ended; a running one has not
