"""A trial's do-not-retry markers (diverged, out of memory) live on the trial's storage, which every node reaches,
not in the trial directory that exists only on the driver's node; the local trial directory is only the fallback,
and a marker that cannot be written anywhere never hides the trial's own reason."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pyarrow.fs
import pytest

from tuning import tune_sweep
from tuning.tune_sweep import DIVERGED, OUT_OF_MEMORY, TrialDiverged, read_marker, sweep_trial, write_marker


class Context:
    """What `sweep_trial` uses of Tune's context: the trial's storage (or none) and its driver-side directory."""

    def __init__(self, trial_dir: Path, fs=None, trial_fs_path: str | None = None) -> None:
        self.trial_dir, self.fs, self.trial_fs_path = trial_dir, fs, trial_fs_path

    def get_storage(self):
        if self.fs is None:
            raise RuntimeError("no storage context")
        return SimpleNamespace(storage_filesystem=self.fs, trial_fs_path=self.trial_fs_path)

    def get_trial_dir(self) -> str:
        return str(self.trial_dir)


def test_a_marker_goes_through_the_storage_filesystem_and_not_the_drivers_trial_directory(tmp_path):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    # A filesystem that is not this machine's paths (as S3's is not): the trial's path is relative to its root.
    fs = pyarrow.fs.SubTreeFileSystem(str(bucket), pyarrow.fs.LocalFileSystem())
    driver_only = tmp_path / "driver" / "trial"  # on another node this folder does not exist
    context = Context(driver_only, fs, "sweeps/exp/sweep_trial_1")
    assert read_marker(context, DIVERGED) is None
    assert write_marker(context, DIVERGED, "loss is nan at epoch 2")
    assert (bucket / "sweeps/exp/sweep_trial_1" / DIVERGED).read_text() == "loss is nan at epoch 2"
    assert not driver_only.exists()
    retry = Context(tmp_path / "elsewhere", fs, "sweeps/exp/sweep_trial_1")  # the retry, on another node
    assert read_marker(retry, DIVERGED) == "loss is nan at epoch 2" and read_marker(retry, OUT_OF_MEMORY) is None


def test_without_a_storage_context_the_local_trial_directory_keeps_it(tmp_path):
    context = Context(tmp_path / "trial")
    assert write_marker(context, OUT_OF_MEMORY, "out of memory")
    assert (tmp_path / "trial" / OUT_OF_MEMORY).read_text() == "out of memory"
    assert read_marker(context, OUT_OF_MEMORY) == "out of memory"


def test_a_marker_nowhere_to_be_written_warns_and_does_not_raise(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    blocked = tmp_path / "file" / "trial"  # under a plain file: no folder can be made there
    context = Context(blocked, pyarrow.fs.LocalFileSystem(), str(blocked))
    assert write_marker(context, DIVERGED, "nan") is False
    assert "could not keep the diverged.txt marker" in capsys.readouterr().err
    assert read_marker(context, DIVERGED) is None


def test_a_retried_trial_fails_at_once_with_the_reason_its_first_attempt_left(tmp_path, monkeypatch):
    fs = pyarrow.fs.LocalFileSystem()
    context = Context(tmp_path / "driver", fs, str(tmp_path / "storage" / "trial"))
    write_marker(context, DIVERGED, "loss is nan at epoch 1")
    monkeypatch.setattr(tune_sweep.tune, "get_context", lambda: context)
    with pytest.raises(TrialDiverged, match="loss is nan at epoch 1"):
        sweep_trial({}, job=None)  # the job is never reached
