"""The race's rounds in a sweep (`study.driver.phases.run_race`): a round's points are kept in sweep.json while it
runs, so a sweep stopped mid-round (Ctrl-C) reports it unfinished and its --resume finishes that round first."""

from __future__ import annotations

import json

from study.driver import phases
from study.results.sweep_dir import SweepInfo
from study.spec.parse import parse_study
from tests.study.spec.samples import VALID

STUDY = parse_study({**VALID, "trials": 2})


def row(trial_id: str, value: float, seed: int = 0, origin: str | None = None) -> dict:
    params = {"model.kind": "lstm", "train.lr": 0.001 if (origin or trial_id) == "a" else 0.002}
    if origin:
        params.update({"train.seed": seed, "seed_of": origin})
    return {"trial_id": trial_id, "status": "COMPLETE", "params": params, "config": {"train.seed": seed},
            "metrics": {"val/accuracy": value}, "history": [{"epoch": 1}]}  # fmt: skip


def test_a_round_stopped_midway_is_unfinished_and_its_resume_runs_it_before_deciding_the_next(tmp_path, monkeypatch):
    sweep = SweepInfo(tmp_path, {"name": "s", "race": {"seeds": 2, "top_k": 3}})
    sweep.save()
    rows = [row("a", 0.5), row("b", 0.49)]
    (tmp_path / "results.json").write_text(json.dumps(rows))
    calls = []

    def reruns(plan, sweep_, points, kind, earlier, *, address, resume, quiet):
        calls.append((kind, [(p["seed_of"], p["train.seed"]) for p in points], resume))
        if len(calls) > 1:  # the first is stopped from outside before its re-run ends
            rows.extend(row(f"{p['seed_of']}-{p['train.seed']}", 0.52, p["train.seed"], p["seed_of"]) for p in points)
            (tmp_path / "results.json").write_text(json.dumps(rows))

    monkeypatch.setattr(phases, "run_reruns", reruns)
    phases.run_race(None, STUDY, sweep, address=None, resume=False, quiet=True)
    assert calls == [("race", [("a", 1)], False)]
    stored = json.loads((tmp_path / "sweep.json").read_text())["race"]
    assert stored["round"][0]["seed_of"] == "a" and "rounds" not in stored
    assert phases.unfinished(STUDY, sweep) == phases.Unfinished(0, 1)

    phases.run_race(None, STUDY, sweep, address=None, resume=True, quiet=True)  # --resume
    assert calls[1] == ("race", [("a", 1)], True)  # the same round, continued (same points: same Tune experiment)
    assert calls[2] == ("race", [("b", 1)], False)  # then b, within reach of a's interval, races
    stored = json.loads((tmp_path / "sweep.json").read_text())["race"]
    assert stored == {"seeds": 2, "top_k": 3, "rounds": 2} and not phases.unfinished(STUDY, sweep)
