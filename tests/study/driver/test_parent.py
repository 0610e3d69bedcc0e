"""What the sweep's parent run gets at the end (a real SQLite store): the last curve points and the sweep's times,
the spec, results, export and report as artifacts, every text masked; a report that cannot be written warns and
the sweep goes on; the summary prints the UI command bound to 127.0.0.1 and the runs table's URL."""

from __future__ import annotations

import json
from pathlib import Path

from mlflow.tracking import MlflowClient

from study.driver.parent import end_series, log_parent, sweep_claims, write_sweep_report
from study.driver.summary import print_links
from study.results.sweep_dir import SweepInfo
from study.spec.parse import parse_study
from tests.study.spec.samples import VALID
from tuning.tracking import Tracker

EXPORTED = {"top": [{"config_file": "/elsewhere/export/01_a.yaml"}]}
ROWS = [
    {"trial_id": "a", "status": "COMPLETE", "finished": 1.0, "metrics": {"val/accuracy": 0.3, "run_seconds": 10.0}},
    {"trial_id": "b", "status": "FAILED", "finished": 2.0, "metrics": {"run_seconds": 2.0}},
    {"trial_id": "c", "status": "PRUNED", "finished": 3.0},
]


def _sweep(tmp_path: Path) -> SweepInfo:
    path = tmp_path / "sweeps" / "s"
    (path / "export").mkdir(parents=True)
    (path / "results.json").write_text(json.dumps(ROWS))
    (path / "export" / "summary.md").write_text("# Sweep s\n")
    (path / "export" / "summary.json").write_text("{}")
    (path / "export" / "01_a.yaml").write_text("model: {kind: lstm}\n")
    (path / "export" / "02_old.yaml").write_text("model: {kind: lstm}\n")  # an earlier export's: not this one's
    data = {"name": "s", "spec": {**VALID, "description": "tried with token tok-5f3a9e"}, "wall_seconds": 42.0,
            "objectives": [{"metric": "val/accuracy", "mode": "max"}]}  # fmt: skip
    return SweepInfo(path, data)


def test_the_sweeps_times_land_at_the_last_step():
    series = end_series(ROWS, [("val/accuracy", "max")], wall_seconds=42.0)
    assert [(s, v) for s, v, _ in series["sweep/wall_seconds"]] == [(3, 42.0)]
    assert [(s, v) for s, v, _ in series["sweep/trial_seconds"]] == [(3, 12.0)]
    assert [(s, v) for s, v, _ in series["sweep/mean_trial_seconds"]] == [(3, 6.0)]
    assert [(s, v) for s, v, _ in series["best/val/accuracy"]] == [(1, 0.3), (2, 0.3), (3, 0.3)]


def test_the_parent_gets_the_spec_results_export_and_report_masked(tmp_path, monkeypatch):
    monkeypatch.setenv("AUXLSTM_TEST_SECRET_TOKEN", "tok-5f3a9e")
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, "exp", "sweep-1")
    run_id = tracker.parent("s", {}, {})
    sweep = _sweep(tmp_path)
    report = [tmp_path / "report.md", tmp_path / "curves.png"]
    report[0].write_text("# Report\n![curves](curves.png)\n")
    report[1].write_bytes(b"\x89PNG fake")
    assert log_parent(tracker, sweep, [("val/accuracy", "max")], ROWS, report, EXPORTED, [])
    assert log_parent(tracker, sweep, [("val/accuracy", "max")], ROWS, report, EXPORTED, [])  # again: no step twice
    client = MlflowClient(uri)
    listed = {a.path for top in ("", "export", "export/configs", "report") for a in client.list_artifacts(run_id, top)}
    assert {"spec.yaml", "results.json", "export/summary.md", "export/summary.json", "export/configs/01_a.yaml",
            "report/report.md", "report/curves.png"} <= listed  # fmt: skip
    assert "export/configs/02_old.yaml" not in listed
    local = Path(client.download_artifacts(run_id, "spec.yaml", str(tmp_path / "down")))
    assert "tried with token ***" in local.read_text() and "tok-5f3a9e" not in local.read_text()
    assert [m.step for m in client.get_metric_history(run_id, "sweep/wall_seconds")] == [3]
    assert [m.step for m in client.get_metric_history(run_id, "trials/failed")] == [1, 2, 3]


def test_a_parent_mlflow_refuses_and_a_report_that_fails_each_warn_and_do_not_raise(tmp_path, capsys):
    sweep = _sweep(tmp_path)
    del sweep.data["objectives"]  # the report cannot be written
    assert write_sweep_report(sweep) == []
    assert "the report could not be written (KeyError" in capsys.readouterr().out
    tracker = Tracker(f"sqlite:///{tmp_path / 'mlflow.db'}", "exp", "sweep-1")
    tracker.delete(tracker.parent("s", {}, {}))  # deleted in the UI: MLflow refuses to log to it
    assert not log_parent(tracker, sweep, [("val/accuracy", "max")], ROWS, [], EXPORTED, [])
    assert "the MLflow parent run did not get the sweep's metrics and files" in capsys.readouterr().out


def test_the_summary_prints_the_ui_on_loopback_and_the_runs_table_of_the_sweep(tmp_path, capsys):
    sweep = _sweep(tmp_path)
    sweep.data.update(tracking_uri="sqlite:////x/mlflow.db", mlflow_experiment_id="4")
    print_links(parse_study(VALID), sweep)
    out = capsys.readouterr().out
    assert "mlflow ui --host 127.0.0.1 --port 5000 --backend-store-uri sqlite:////x/mlflow.db" in out
    assert "http://127.0.0.1:5000/#/experiments/4/runs?workflowType=machine_learning" in out
    sweep.data.update(tracking_uri="http://bob:pw@10.0.0.2:5000")
    print_links(parse_study(VALID), sweep)
    assert "http://10.0.0.2:5000/#/experiments/4/runs?workflowType=machine_learning" in capsys.readouterr().out


def test_a_sweep_that_decided_the_claim_says_so_on_its_parent_run(tmp_path):
    from tests.study.driver.test_summary import _rows

    rows = _rows([(["model.kind=r_lstm"], [(0.30, 0.31), (0.33, 0.32), (0.31, 0.30)]),
                  (["model.kind=lstm"], [(0.11, 0.12), (0.10, 0.13), (0.12, 0.12)])])  # fmt: skip
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, "exp", "sweep-1")
    run_id = tracker.parent("s", {}, {})
    claims = sweep_claims(rows, [("val/accuracy", "max")])
    assert log_parent(tracker, _sweep(tmp_path), [("val/accuracy", "max")], rows, [], EXPORTED, claims)
    tags = MlflowClient(uri).get_run(run_id).data.tags
    assert "SUPPORTED" in tags["auxlstm.claim"] and "r-LSTM Truncate1" in tags["auxlstm.claim"]
    note = tags["mlflow.note.content"]
    assert note.startswith("tried with token") and tags["auxlstm.claim"] in note
    other = Tracker(uri, "exp", "sweep-2")  # no verdict, nothing said
    other_id = other.parent("t", {}, {})
    assert log_parent(other, _sweep(tmp_path / "2"), [("val/accuracy", "max")], rows, [], EXPORTED, [])
    assert "auxlstm.claim" not in MlflowClient(uri).get_run(other_id).data.tags


def test_a_verdict_that_cannot_be_reached_warns_and_the_sweep_goes_on(capsys, monkeypatch):
    import study.driver.parent

    def unreadable(trials, objectives):
        raise TypeError("'>' not supported between instances of 'NoneType' and 'int'")

    monkeypatch.setattr(study.driver.parent, "judge", unreadable)
    assert sweep_claims(ROWS, [("val/accuracy", "max")]) == []
    assert "no verdict on the paper's claim (TypeError: '>' not supported" in capsys.readouterr().out
