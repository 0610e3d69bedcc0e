"""A sweep whose Tune state another version of the project pickled (its classes moved since) is refused with what
to do, not a traceback."""

from __future__ import annotations

import pytest
from ray import tune

from tuning.tune_sweep import SweepError, _restored_tuner


def test_tune_state_pickled_by_another_version_is_refused_naming_the_fix(monkeypatch, tmp_path):
    def restore(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'study.space'")

    monkeypatch.setattr(tune.Tuner, "restore", restore)
    monkeypatch.setattr("tuning.tune_sweep._trainable", lambda plan: None)
    with pytest.raises(SweepError, match=r"written by another version of the project \(No module named "
                                         r"'study.space'\); resume the sweep with the version that started it"):
        _restored_tuner(str(tmp_path / "exp"), plan=None)
