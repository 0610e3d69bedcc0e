"""A driver killed between Optuna's storage write and Tune's saved state: the resumed sweep reconciles both.

Real Optuna storage and a real MLflow SQLite store; Tune's saved searcher state is produced by the searcher's own
save(), exactly as Tune does it, at the moment a killed driver would have left it.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import optuna
from mlflow.tracking import MlflowClient

from study.results.table import ResultsTable
from study.spec.parse import parse_study
from tests.study.spec.samples import VALID
from tuning.recorder import SweepRecorder
from tuning.tracking import Tracker
from tuning.tune_sweep import SweepSearch


def _searcher(tmp_path: Path) -> SweepSearch:
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'optuna.db'}")
    sampler = optuna.samplers.TPESampler(seed=0)
    return SweepSearch(space=parse_study(VALID).space, metric="val/accuracy", mode="max", sampler=sampler,
                       study_name="s", storage=storage)  # fmt: skip


def test_a_suggestion_lost_with_the_driver_is_given_to_the_next_trial(tmp_path):
    searcher = _searcher(tmp_path)
    searcher.suggest("a")
    searcher.save(str(tmp_path / "state.pkl"))  # Tune's last saved state
    lost = searcher.suggest("b")  # Optuna stored trial 1; the driver died before Tune saved it
    resumed = _searcher(tmp_path)
    resumed.restore(str(tmp_path / "state.pkl"))
    again = resumed.suggest("c")
    assert again == lost  # the same sampled values, under the new Tune trial
    resumed.on_trial_complete("c", {"val/accuracy": 0.5})
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert [t.state.name for t in study.trials] == ["RUNNING", "COMPLETE"]  # two trials, none orphaned
    resumed.suggest("d")
    assert len(optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'optuna.db'}").trials) == 3


def test_a_result_for_a_trial_optuna_already_finished_is_ignored(tmp_path):
    searcher = _searcher(tmp_path)
    searcher.suggest("a")
    searcher.save(str(tmp_path / "state.pkl"))
    searcher.on_trial_complete("a", {"val/accuracy": 0.4})  # stored; the saved state still has it running
    resumed = _searcher(tmp_path)
    resumed.restore(str(tmp_path / "state.pkl"))
    resumed.on_trial_result("a", {"val/accuracy": 0.4, "training_iteration": 1})  # the replayed epoch
    resumed.on_trial_complete("a", {"val/accuracy": 0.4})
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert [(t.state.name, t.value) for t in study.trials] == [("COMPLETE", 0.4)]


def test_a_nan_objective_ends_pruned_as_diverged_not_running(tmp_path):
    searcher = _searcher(tmp_path)
    searcher.suggest("a")
    searcher.on_trial_complete("a", {"val/accuracy": float("nan")})
    study = optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / 'optuna.db'}")
    assert [(t.state.name, t.constraints) for t in study.trials] == [("PRUNED", {"diverged": 1.0})]


def test_a_trial_unknown_to_the_resumed_sweep_leaves_the_table_and_mlflow(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracker = Tracker(uri, "exp", "sweep-1")
    tracker.parent("sweep", params={}, tags={})
    kept, lost = tracker.child("kept", "kept", {}, {}), tracker.child("lost", "lost", {}, {})
    table = ResultsTable(tmp_path)
    table.update("kept", status="RUNNING", mlflow_run_id=kept)
    table.update("lost", status="RUNNING", mlflow_run_id=lost)
    table.update("done", status="COMPLETE")
    job = SimpleNamespace(results_table=lambda: ResultsTable(tmp_path))
    recorder = SweepRecorder(sweep_dir=tmp_path, tracker=Tracker(uri, "exp", "sweep-1"), job=job,
                             objectives=[("val/accuracy", "max")], trials=3, concurrency=1)  # fmt: skip
    recorder.setup()
    recorder.on_step_begin(0, trials=[SimpleNamespace(trial_id="kept"), SimpleNamespace(trial_id="done")])
    assert sorted(ResultsTable(tmp_path).rows) == ["done", "kept"]
    client = MlflowClient(uri)
    assert client.get_run(lost).info.lifecycle_stage == "deleted"
    assert client.get_run(kept).info.lifecycle_stage == "active"
    assert Tracker(uri, "exp", "sweep-1").child("kept", "kept", {}, {}) == kept  # found again, not duplicated


def test_a_state_file_truncated_by_a_killed_driver_is_replaced_by_the_last_complete_copy(tmp_path):
    import json
    import pickle

    from tuning.tune_state import back_up, repair

    staging, experiment, backup = tmp_path / "staging", tmp_path / "experiment", tmp_path / "backup"
    staging.mkdir()
    experiment.mkdir()
    (staging / "experiment_state-1.json").write_text(json.dumps({"trials": [1, 2]}))
    (staging / "searcher-state-1.pkl").write_bytes(pickle.dumps({"trials": 2}))
    (staging / "trial_dir").mkdir()  # trial folders are not part of the copy
    back_up(staging, backup)
    assert sorted(p.name for p in backup.iterdir()) == ["experiment_state-1.json", "searcher-state-1.pkl"]
    for source in staging.glob("*-1.*"):
        (experiment / source.name).write_bytes(source.read_bytes())
    assert not repair(experiment, backup)  # intact: left alone
    (experiment / "experiment_state-1.json").write_text('{"trials": [1,')  # the copy the kill interrupted
    assert repair(experiment, backup)
    assert json.loads((experiment / "experiment_state-1.json").read_text()) == {"trials": [1, 2]}
    (experiment / "searcher-state-1.pkl").write_bytes(b"\x80")
    assert repair(experiment, backup)
    assert pickle.loads((experiment / "searcher-state-1.pkl").read_bytes()) == {"trials": 2}
