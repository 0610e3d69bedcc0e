"""The replay bench (`python -m study.replay`, `tuning.replay`): a grid sweep's results table becomes the replay
table, and searchers and schedulers replayed against it behave as they do in a sweep."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from study.replay import main
from study.results.replay_table import DEFAULT_TABLE, ReplayTable
from study.spec.files import find_spec, read_spec
from study.spec.parse import parse_study
from tuning.replay import replay
from tuning.replay_methods import METHODS

SPEC = read_spec(find_spec("replay-grid"))
STUDY = parse_study(SPEC)
EPOCHS = 4


def curve(point: dict) -> list[float]:
    """A planted landscape: r-LSTM with weight 1 and lr 3e-3 best; every curve rises over its epochs."""
    rng = random.Random(json.dumps(point, sort_keys=True))
    ceiling = {"lstm": 0.15, "p_lstm": 0.22, "r_lstm": 0.3}[point["model.kind"]]
    ceiling -= 0.05 * abs(math.log10(point["train.lr"] / 3e-3)) + 0.03 * abs(math.log10(point.get("aux.weight", 1)))
    return [ceiling * (1 - 0.5 ** (e + 1)) + rng.gauss(0, 0.003) for e in range(EPOCHS)]


@pytest.fixture
def grid_sweep(tmp_path: Path) -> Path:
    """A finished sweep of the replay-grid spec, its trials' histories from the planted landscape."""
    sweep = tmp_path / "sweeps" / "grid"
    sweep.mkdir(parents=True)
    (sweep / "sweep.json").write_text(json.dumps({"name": "grid", "spec": SPEC}))
    rows = [
        {"trial_id": f"t{i}", "status": "COMPLETE", "params": point,
         "history": [{"epoch": e + 1, "supervised_epoch": e + 1, "val/accuracy": v,
                      "epoch_seconds": 10.0 if point["model.kind"] == "lstm" else 30.0}
                     for e, v in enumerate(curve(point))]}
        for i, point in enumerate(STUDY.points)
    ]  # fmt: skip
    (sweep / "results.json").write_text(json.dumps(rows))
    return sweep


def test_a_grid_sweep_becomes_a_replay_table_and_every_method_replays_on_it(grid_sweep, tmp_path, capsys):
    table_file = tmp_path / "grid.parquet"
    assert main(["record", "--sweep", str(grid_sweep), "--out", str(table_file)]) == 0
    assert "39 configurations, 156 epochs of val/accuracy" in capsys.readouterr().out
    table = ReplayTable.load(table_file)
    assert len(table.curves) == 39 and table.epochs == EPOCHS and table.meta["mode"] == "max"
    assert "study.replay record --sweep" in table.meta["recorded_with"]
    assert table.best() == pytest.approx(max(curve(p)[-1] for p in STUDY.points))
    assert main(["compare", "--table", str(table_file), "--repeats", "4", "--plot", str(tmp_path / "a.png")]) == 0
    out = capsys.readouterr().out
    rows = [line.split(" | ") for line in out.splitlines() if line.startswith("| ") and "method" not in line]
    assert sorted(r[0].strip("| ") for r in rows) == sorted(METHODS)
    assert (tmp_path / "a.png").stat().st_size > 5000


def test_a_replayed_sweep_keeps_its_budget_and_concurrency_and_asha_spends_less_per_trial(grid_sweep, tmp_path):
    main(["record", "--sweep", str(grid_sweep), "--out", str(tmp_path / "g.parquet")])
    table = ReplayTable.load(tmp_path / "g.parquet")
    lookup, budget = table.lookup(STUDY.space.restrict), 6 * table.full_trial_seconds()
    runs = {
        name: replay(STUDY.space, lookup, METHODS[name], metric="val/accuracy", mode="max", epochs=EPOCHS,
                     budget_s=budget, concurrency=2, seed=3)
        for name in ("tpe", "tpe + asha grace 1")
    }  # fmt: skip
    for trace in runs.values():
        assert trace.compute == sorted(trace.compute)  # compute only grows
        # New trials start only while the budget lasts; the two running then run to their ends (4 epochs of 30 s).
        assert budget <= trace.compute[-1] < budget + 2 * EPOCHS * 30.0
    assert runs["tpe + asha grace 1"].trials > runs["tpe"].trials  # stopped trials leave compute for more trials
    again = replay(STUDY.space, lookup, METHODS["tpe + asha grace 1"], metric="val/accuracy", mode="max",
                   epochs=EPOCHS, budget_s=budget, concurrency=2, seed=3)  # fmt: skip
    assert again == runs["tpe + asha grace 1"]  # seeded: the same sweep again


def test_the_shipped_table_compares_every_method_in_the_suite(capsys):
    assert DEFAULT_TABLE.is_file(), "record it: see python -m study.replay --help"
    assert main(["compare", "--repeats", "20"]) == 0
    out = capsys.readouterr().out
    rows = {line.split(" | ")[0].strip("| "): line.split(" | ") for line in out.splitlines()
            if line.startswith("| ") and "method" not in line}  # fmt: skip
    assert set(rows) == set(METHODS)
    table = ReplayTable.load(DEFAULT_TABLE)
    for row in rows.values():
        area = float(row[1].split(" ± ")[0])
        assert min(v[-1] for v, _ in table.curves.values()) <= area <= table.best()
