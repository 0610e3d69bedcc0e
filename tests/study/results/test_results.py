"""The results table, ranking and the Pareto set, without Ray."""

from __future__ import annotations

import json

import pytest

from study.results.ranking import pareto_front, rank
from study.results.table import ResultsTable, load_rows


def _row(trial_id: str, status: str, **metrics) -> dict:
    return {"trial_id": trial_id, "status": status, "metrics": {"epoch": 3, "epochs": 3, **metrics}}


def test_a_repeated_epoch_is_recorded_once_and_the_table_survives_a_reload(tmp_path):
    table = ResultsTable(tmp_path)
    assert table.add_epoch("a", {"epoch": 1, "val/accuracy": 0.2})
    assert table.add_epoch("a", {"epoch": 2, "val/accuracy": 0.3})
    assert not table.add_epoch("a", {"epoch": 2, "val/accuracy": 0.9})  # replayed after a resume
    table.update("a", status="COMPLETE")
    again = ResultsTable(tmp_path)
    assert [h["epoch"] for h in again.row("a")["history"]] == [1, 2]
    assert again.row("a")["metrics"]["val/accuracy"] == 0.3 and again.row("a")["status"] == "COMPLETE"
    assert json.loads((tmp_path / "results.json").read_text())[0]["trial_id"] == "a"
    assert not (tmp_path / "results.json.tmp").exists()


def test_rank_keeps_complete_trials_with_a_finite_value_best_first():
    rows = [
        _row("a", "COMPLETE", **{"val/accuracy": 0.5}),
        _row("b", "STOPPED", **{"val/accuracy": 0.9}),
        _row("c", "COMPLETE", **{"val/accuracy": float("nan")}),
        _row("d", "COMPLETE", **{"val/accuracy": 0.7}),
        _row("e", "FAILED"),
    ]
    assert [r["trial_id"] for r in rank(rows, "val/accuracy", "max")] == ["d", "a"]
    assert [r["trial_id"] for r in rank(rows, "val/accuracy", "min")] == ["a", "d"]
    assert [r["trial_id"] for r in rank(rows, "val/accuracy", "max", ("COMPLETE", "STOPPED"))] == ["b", "d", "a"]


def test_loading_a_directory_without_a_table_names_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_rows(tmp_path)


def test_pareto_front_of_accuracy_up_and_memory_down():
    objectives = [("val/accuracy", "max"), ("peak_memory_mb", "min")]
    rows = [
        _row("small", "COMPLETE", **{"val/accuracy": 0.6, "peak_memory_mb": 100.0}),
        _row("big", "COMPLETE", **{"val/accuracy": 0.9, "peak_memory_mb": 400.0}),
        _row("worse", "COMPLETE", **{"val/accuracy": 0.5, "peak_memory_mb": 300.0}),  # dominated by small
        _row("twin", "COMPLETE", **{"val/accuracy": 0.6, "peak_memory_mb": 100.0}),  # equal: not dominated
        _row("early", "STOPPED", **{"val/accuracy": 0.95, "peak_memory_mb": 50.0}),  # never in the front
    ]
    assert sorted(r["trial_id"] for r in pareto_front(rows, objectives)) == ["big", "small", "twin"]
