"""Damaged checkpoints: refused naming the file, resume falls back to the previous one, else says what to do.

Every checkpoint here is written by a real run of `python -m study.train` (the one run path, through `fit`) on
downscaled MNIST, then truncated, overwritten or removed on disk.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import ray.train

from data import default_data_dir
from models.checkpoint import CheckpointError, load_checkpoint, previous, save_checkpoint
from study.spec.files import CONFIGS_DIR
from study.train import main as train_main
from tuning.restore import CHECKPOINT, checkpoint_dir_name, restore_readable


def _damage(path: Path, how: str) -> None:
    if how == "truncated":  # a copy or a write cut short
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "garbage":
        path.write_bytes(os.urandom(4096))
    elif how == "empty":
        path.write_bytes(b"")
    else:  # "missing": killed between keeping the previous file and putting the new one in place
        path.unlink()


@pytest.fixture(scope="module")
def two_epochs(tmp_path_factory) -> tuple[list[str], Path]:
    """A finished 2-epoch run: checkpoint.pt holds epoch 2, checkpoint.prev.pt epoch 1."""
    out = tmp_path_factory.mktemp("run") / "run"
    data_dir = str(default_data_dir(os.environ.get("AUXLSTM_DATA_DIR")))
    argv = ["--config", str(CONFIGS_DIR / "quickstart.yaml"), "--data-dir", data_dir, "--smoke-test",
            "--set", "model.kind=lstm", "--set", "model.d_hidden=32", "--set", "data.limit_train=128",
            "--set", "data.limit_eval=128"]  # fmt: skip
    assert train_main([*argv, "--out", str(out), "--set", "train.epochs=2"]) == 0
    return argv, out


def _copy(run: Path, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    shutil.copytree(run, out)
    return out


def test_every_save_keeps_the_checkpoint_it_replaces(two_epochs):
    _, out = two_epochs
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == 2
    assert previous(out / "checkpoint.pt") == out / "checkpoint.prev.pt"
    assert load_checkpoint(out / "checkpoint.prev.pt")["epoch"] == 1
    assert not (out / "checkpoint.pt.tmp").exists()


@pytest.mark.parametrize("how", ["truncated", "garbage", "empty"])
def test_a_damaged_checkpoint_is_refused_naming_the_file_and_the_fix(two_epochs, tmp_path, how):
    path = _copy(two_epochs[1], tmp_path) / "checkpoint.pt"
    _damage(path, how)
    with pytest.raises(CheckpointError) as refused:
        load_checkpoint(path)
    message = str(refused.value)
    assert f"{path} is not a readable checkpoint, truncated or damaged" in message
    assert message.endswith("delete it to train from the start")
    assert ("an empty file" in message) == (how == "empty")


@pytest.mark.parametrize("how", ["truncated", "missing"])
def test_resume_falls_back_to_the_previous_checkpoint_and_trains_every_later_epoch_once(two_epochs, tmp_path, capsys,
                                                                                       how):  # fmt: skip
    argv, run = two_epochs
    out = _copy(run, tmp_path)
    first = json.loads((out / "history.json").read_text())
    _damage(out / "checkpoint.pt", how)
    capsys.readouterr()
    assert train_main([*argv, "--out", str(out), "--set", "train.epochs=3", "--resume"]) == 0
    printed = capsys.readouterr()
    problem = "is missing" if how == "missing" else "is not a readable checkpoint"
    assert f"warning: {out / 'checkpoint.pt'} {problem}" in printed.err
    assert f"resuming from the previous checkpoint {out / 'checkpoint.prev.pt'} (epoch 1)" in printed.err
    assert "epoch 1/3" not in printed.out and "epoch 2/3" in printed.out  # epoch 1 was not trained again
    history = json.loads((out / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[0] == first[0]  # epoch 1 as the previous checkpoint saved it
    assert load_checkpoint(out / "checkpoint.pt")["epoch"] == 3
    assert (out / "checkpoint.pt.damaged").exists() == (how == "truncated")  # kept aside, not as the previous one
    assert load_checkpoint(out / "checkpoint.prev.pt")["epoch"] == 2


def test_resume_with_no_readable_checkpoint_stops_naming_both_files_and_the_fix(two_epochs, tmp_path, capsys):
    argv, run = two_epochs
    out = _copy(run, tmp_path)
    _damage(out / "checkpoint.pt", "truncated")
    _damage(out / "checkpoint.prev.pt", "garbage")
    history = (out / "history.json").read_text()
    capsys.readouterr()
    assert train_main([*argv, "--out", str(out), "--set", "train.epochs=3", "--resume"]) == 1
    err = capsys.readouterr().err
    assert "checkpoint error: no readable checkpoint to resume from" in err
    assert f"{out / 'checkpoint.pt'} is not a readable checkpoint" in err
    assert f"{out / 'checkpoint.prev.pt'} is not a readable checkpoint" in err
    assert f"delete {out / 'checkpoint.pt'} and {out / 'checkpoint.prev.pt'} to train from the start" in err
    assert (out / "history.json").read_text() == history  # nothing trained, nothing overwritten
    # Doing what it says: deleting them starts the run over.
    (out / "checkpoint.pt").unlink()
    (out / "checkpoint.prev.pt").unlink()
    assert train_main([*argv, "--out", str(out), "--set", "train.epochs=2", "--resume"]) == 0
    assert [h["epoch"] for h in json.loads((out / "history.json").read_text())] == [1, 2]


@pytest.mark.parametrize("kind", ["checkpoint_00000", "epoch_000"])  # Tune's and Ray Train's directory names
def test_a_restored_ray_checkpoint_that_cannot_be_read_falls_back_to_the_older_directory(two_epochs, tmp_path, capsys,
                                                                                         kind):  # fmt: skip
    run = two_epochs[1]
    storage = tmp_path / "trial"
    for epoch, source in ((1, "checkpoint.prev.pt"), (2, "checkpoint.pt")):
        (storage / f"{kind}{epoch}").mkdir(parents=True)
        shutil.copy(run / source, storage / f"{kind}{epoch}" / CHECKPOINT)
    (storage / "error.txt").write_text("a file beside them is not a checkpoint")
    dest = tmp_path / "restored.pt"
    latest = ray.train.Checkpoint(str(storage / f"{kind}2"))
    assert restore_readable(latest, dest) == 2 and load_checkpoint(dest)["epoch"] == 2

    _damage(storage / f"{kind}2" / CHECKPOINT, "truncated")
    capsys.readouterr()
    assert restore_readable(latest, dest) == 1 and load_checkpoint(dest)["epoch"] == 1
    err = capsys.readouterr().err
    assert f"warning: {storage / f'{kind}2' / CHECKPOINT} is not a readable checkpoint, truncated or damaged" in err
    assert f"resuming from the older checkpoint {storage / f'{kind}1'} (epoch 1)" in err

    (storage / f"{kind}1" / CHECKPOINT).unlink()
    with pytest.raises(CheckpointError) as refused:
        restore_readable(latest, dest)
    assert str(refused.value).startswith(f"no readable checkpoint to resume from: {storage / f'{kind}2' / CHECKPOINT} "
                                         "is not a readable checkpoint")  # fmt: skip
    assert str(refused.value).endswith(f"{storage / f'{kind}1' / CHECKPOINT}: No such file or directory; delete "
                                       f"{storage} to train from the start")  # fmt: skip


def test_a_worker_group_that_fell_back_reports_its_epochs_under_new_directory_names():
    # Ray Train's checkpoint manager deletes an evicted checkpoint by its directory: a fallback from epoch_0003 to
    # epoch_0002 must not report epoch 3 again into epoch_0003, or evicting the damaged one deletes the new one.
    def restored(name: str) -> ray.train.Checkpoint:
        return ray.train.Checkpoint(f"/storage/trial-1/{name}")

    assert checkpoint_dir_name(1, None, 0) == "epoch_0001"  # the first worker group
    assert checkpoint_dir_name(4, restored("epoch_0003"), 3) == "epoch_0004"  # resumed from the latest
    assert checkpoint_dir_name(3, restored("epoch_0003"), 2) == "epoch_0003-r1"  # fell back: epoch 3 again
    assert checkpoint_dir_name(5, restored("epoch_0004-r1"), 4) == "epoch_0005-r1"  # resumed from the latest
    assert checkpoint_dir_name(4, restored("epoch_0004-r1"), 3) == "epoch_0004-r2"  # fell back again
    assert checkpoint_dir_name(10, restored("epoch_0010-r9"), 9) == "epoch_0010-r10"


def test_the_older_ray_train_checkpoint_is_the_newest_one_before_by_number(two_epochs, tmp_path, capsys):
    storage, state = tmp_path / "trial-1", load_checkpoint(two_epochs[1] / "checkpoint.pt")
    for name, epoch in [("epoch_0009", 9), ("epoch_0011", 11), ("epoch_0010-r9", 10), ("epoch_0009-r10", 9),
                        ("epoch_0010-r10", 10), ("checkpoint_000012", 12)]:  # fmt: skip
        save_checkpoint(storage / name / CHECKPOINT, {**state, "epoch": epoch})
    (storage / "epoch_0012").write_text("a file, not a checkpoint directory")
    latest = ray.train.Checkpoint(str(storage / "epoch_0010-r10"))
    dest = tmp_path / "restored.pt"

    # Newest first: the latest fallback's line (-r10 after -r9: numbers, not text), then the lines before it,
    # never a later epoch (epoch_0011: left by a group that fell back) nor another kind of checkpoint.
    for damaged, taken, epoch in [("epoch_0010-r10", "epoch_0009-r10", 9), ("epoch_0009-r10", "epoch_0010-r9", 10),
                                  ("epoch_0010-r9", "epoch_0009", 9)]:  # fmt: skip
        _damage(storage / damaged / CHECKPOINT, "truncated")
        capsys.readouterr()
        assert restore_readable(latest, dest) == epoch and load_checkpoint(dest)["epoch"] == epoch
        assert f"resuming from the older checkpoint {storage / taken} (epoch {epoch})" in capsys.readouterr().err
    _damage(storage / "epoch_0009" / CHECKPOINT, "missing")
    with pytest.raises(CheckpointError) as refused:
        restore_readable(latest, dest)
    tried = [str(storage / name / CHECKPOINT) for name in ("epoch_0010-r10", "epoch_0009-r10", "epoch_0010-r9")]
    assert all(path in str(refused.value) for path in [*tried, str(storage / "epoch_0009" / CHECKPOINT)])
    assert "epoch_0011" not in str(refused.value) and "checkpoint_000012" not in str(refused.value)
