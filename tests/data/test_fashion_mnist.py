"""Fashion-MNIST from the real Debian package: split sizes, class balance, pixels, resizing and clear errors."""

from __future__ import annotations

import gzip
import pathlib
import shutil

import numpy as np
import pytest
import torch

from data import DATASETS, Dataset, DatasetError
from data import fashion_mnist as fm
from data.config import DataConfig
from data.parquet_io import read_metadata


@pytest.fixture(scope="module")
def fashion(data_dir: pathlib.Path) -> Dataset:
    fm.prepare_fashion_mnist(data_dir)
    return fm.load_fashion_mnist(data_dir, DataConfig(name="fashion_mnist"))


def test_official_splits_and_class_balance(fashion: Dataset) -> None:
    assert (len(fashion.train), len(fashion.val), len(fashion.test)) == (55_000, 5_000, 10_000)
    assert (fashion.num_classes, fashion.seq_len, fashion.channels, fashion.vocab_size) == (10, 784, 1, 256)
    train_val = torch.bincount(fashion.train.labels, minlength=10) + torch.bincount(fashion.val.labels, minlength=10)
    assert train_val.tolist() == [6000] * 10
    assert torch.bincount(fashion.test.labels, minlength=10).tolist() == [1000] * 10
    for split in (fashion.train, fashion.val, fashion.test):
        assert split.tokens.dtype == torch.uint8 and split.tokens.shape[1] == 784
        assert int(split.tokens.max()) == 255 and int(split.tokens.min()) == 0


def test_validation_is_a_fixed_part_of_the_official_train_set(data_dir: pathlib.Path, fashion: Dataset) -> None:
    official, labels = fm.read_official(fm.PACKAGE_DIR, "train")
    train, val = fm.hold_out(60_000, 5_000, fm.VAL_SEED)
    assert np.intersect1d(train, val).size == 0
    np.testing.assert_array_equal(fashion.val.tokens[:50].numpy(), official[val[:50]])
    np.testing.assert_array_equal(fashion.train.labels.numpy(), labels[train])
    meta = read_metadata(fm.fashion_dir(data_dir) / "val.parquet")
    assert meta is not None and meta["format_version"] == fm.FORMAT_VERSION and meta["split"] == "val"
    assert meta["source_sha256"] == fm.source_checksum(fm.PACKAGE_DIR)


def test_resizing_and_limits(data_dir: pathlib.Path, fashion: Dataset) -> None:
    small = fm.load_fashion_mnist(
        data_dir, DataConfig(name="fashion_mnist", image_size=14, limit_train=30, limit_eval=20)
    )
    assert small.seq_len == 196 and small.train.tokens.shape == (30, 196) and small.test.tokens.shape == (20, 196)
    blocks = fashion.test.tokens[:20].view(20, 14, 2, 14, 2).to(torch.float32).mean(dim=(2, 4))
    assert torch.equal(small.test.tokens, blocks.round().to(torch.uint8).view(20, 196))


def test_missing_package_says_how_to_install(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fm, "PACKAGE_DIR", tmp_path / "absent")
    with pytest.raises(DatasetError) as info:
        fm.prepare_fashion_mnist(tmp_path / "data")
    message = str(info.value)
    assert "apt-get install dataset-fashion-mnist" in message and "--source" in message
    assert "github.com/zalandoresearch/fashion-mnist" in message and "t10k-labels-idx1-ubyte.gz" in message


def test_wrong_or_truncated_idx_file_is_named(tmp_path: pathlib.Path) -> None:
    source = tmp_path / "src"
    shutil.copytree(fm.PACKAGE_DIR, source)
    labels = source / "t10k-labels-idx1-ubyte.gz"
    with gzip.open(labels, "wb") as f:
        f.write(np.array([2051, 10], dtype=">u4").tobytes() + bytes(10))  # an image magic on a label file
    with pytest.raises(DatasetError, match="magic number 2051, expected 2049") as info:
        fm.prepare_fashion_mnist(tmp_path / "data", source)
    assert str(labels) in str(info.value)
    with gzip.open(labels, "wb") as f:
        f.write(np.array([2049, 10_000], dtype=">u4").tobytes() + bytes(99))
    with pytest.raises(DatasetError, match="truncated"):
        fm.read_idx(labels, 2049, 1)
    assert not (fm.fashion_dir(tmp_path / "data") / "test.parquet").exists()


def test_registry_entry() -> None:
    info = DATASETS["fashion_mnist"]
    assert (info.kind, info.num_classes, info.channels) == ("stand-in for cifar10", 10, 1)
    assert info.split_sizes == (55_000, 5_000, 10_000) and info.max_steps(DataConfig(image_size=32)) == 1024
    assert "MIT" in info.licence
