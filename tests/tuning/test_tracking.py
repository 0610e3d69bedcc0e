"""MLflow runs found again on a resume: a parent run keeps the params it holds and gets those it lacks, even where
this version writes a param in another form (MLflow refuses to change a logged value)."""

from __future__ import annotations

from mlflow.tracking import MlflowClient

from tuning.tracking import Tracker


def test_a_parent_run_found_again_keeps_its_params_and_gets_the_ones_it_lacks(tmp_path):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tags = {"auxlstm.command": "python -m study.sweep"}
    first = Tracker(uri, experiment="exp", sweep_id="s1").parent("sweep", {"space.scientific.model.kind": '["lstm"]'},
                                                                 tags)  # fmt: skip
    again = Tracker(uri, experiment="exp", sweep_id="s1").parent(
        "sweep", {"space.scientific.model.kind": "{choice: [lstm]}", "trials": 8}, tags
    )
    assert again == first
    params = MlflowClient(uri).get_run(first).data.params
    assert params == {"space.scientific.model.kind": '["lstm"]', "trials": "8"}
