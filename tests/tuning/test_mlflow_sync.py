"""The results table reaches MLflow whole, once, and despite outages and refused runs (a real SQLite store; a
real closed port for a server that is down)."""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking import MlflowClient

from study.results.table import ResultsTable
from tests.helpers import free_port
from tuning.mlflow_sync import MlflowSync, lacking
from tuning.tracking import Tracker


def _describe(trial_id: str, params: dict) -> dict:
    return {"command": f"train {trial_id}", "config_path": "", "run_name": f"{trial_id} lstm", "config": dict(params),
            "tags": {}}  # fmt: skip


def _table(tmp_path: Path, trials: dict[str, int]) -> ResultsTable:
    """Finished rows, `epochs` each, none sent to MLflow yet."""
    table = ResultsTable(tmp_path)
    for trial_id, epochs in trials.items():
        history = [{"epoch": e, "train/loss": 1.0 / e} for e in range(1, epochs + 1)]
        table.update(trial_id, status="COMPLETE", params={"train.lr": 0.01}, history=history, metrics=history[-1],
                     mlflow_epochs=0, epoch_ms=[1_000 * e for e in range(1, epochs + 1)])  # fmt: skip
    return table


def _losses(uri: str, run_id: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in MlflowClient(uri).get_metric_history(run_id, "train/loss")]


def test_every_epoch_is_sent_once_even_when_sent_again_or_missing_its_time(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    table = _table(tmp_path, {"a": 3})
    table.rows["a"]["epoch_ms"].pop()  # the driver died between recording epoch 3 and its time
    sync = MlflowSync(Tracker(uri, "exp", "sweep-1"), _describe)
    assert sync.send(table) and not lacking(table.rows["a"])
    table.update("a", mlflow_epochs=0, mlflow_ended=False)  # as if no answer had confirmed them: all sent again
    assert sync.send(table)
    run_id = table.rows["a"]["mlflow_run_id"]
    assert _losses(uri, run_id) == [(1, 1.0), (2, 0.5), (3, 1 / 3)]
    assert MlflowClient(uri).get_run(run_id).info.status == "FINISHED"


def test_a_run_mlflow_refuses_is_left_in_the_table_and_the_other_rows_go_on(tmp_path, capsys):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    table = _table(tmp_path, {"a": 1, "b": 2})
    sync = MlflowSync(Tracker(uri, "exp", "sweep-1"), _describe)
    sync.send(table, ["a"])
    MlflowClient(uri).delete_run(table.rows["a"]["mlflow_run_id"])  # deleted in the UI: logging to it fails
    table.update("a", history=[*table.rows["a"]["history"], {"epoch": 2, "train/loss": 0.5}], mlflow_ended=False)
    assert sync.send(table) and sync.down_since is None
    assert "MLflow refused the run of trial a" in capsys.readouterr().out and table.rows["a"]["mlflow_error"]
    assert _losses(uri, table.rows["b"]["mlflow_run_id"]) == [(1, 1.0), (2, 0.5)]


def test_what_a_store_that_is_down_misses_is_sent_for_every_row_once_it_answers(tmp_path, capsys):
    table = _table(tmp_path, {"a": 2, "b": 2})
    sync = MlflowSync(Tracker(f"http://127.0.0.1:{free_port()}", "exp", "sweep-1"), _describe)
    assert not sync.send(table, ["a"]) and sync.down_since is not None
    assert "did not answer" in capsys.readouterr().out
    assert not sync.send(table, ["a"])  # backing off: not even tried
    assert lacking(table.rows["a"]) and lacking(table.rows["b"]) and "mlflow_error" not in table.rows["a"]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    sync.tracker = Tracker(uri, "exp", "sweep-1")  # the store answers again
    assert sync.send(table, ["a"], now=True) and sync.down_since is None
    assert "answers again" in capsys.readouterr().out
    for trial_id in ("a", "b"):  # every row that waited, not only the one that asked
        assert _losses(uri, table.rows[trial_id]["mlflow_run_id"]) == [(1, 1.0), (2, 0.5)]
