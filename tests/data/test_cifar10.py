"""CIFAR-10 from tiny tarballs in the official layout: exact RGB tokens, splits, damage and a missing download."""

from __future__ import annotations

import os
import pathlib
import pickle
import urllib.request

import numpy as np
import pytest
import torch

from data import DATASETS, DatasetError
from data.cifar10 import ARCHIVE, ARCHIVE_SIZE, cifar_dir, load_cifar10, prepare_cifar10
from data.config import DataConfig
from tests.data.image_fixtures import cifar_batches, write_cifar_folder, write_cifar_tarball

CFG = DataConfig(name="cifar10")


@pytest.fixture
def batches() -> dict[str, tuple[np.ndarray, list[int]]]:
    return cifar_batches(per_batch=4)


@pytest.fixture
def tarball(tmp_path: pathlib.Path, batches: dict) -> pathlib.Path:
    return write_cifar_tarball(tmp_path / "fixture.tar.gz", batches)


def test_tokens_are_the_planar_pixels_in_raster_order(tmp_path: pathlib.Path, tarball: pathlib.Path, batches) -> None:
    data_dir = tmp_path / "data"
    assert prepare_cifar10(data_dir, tarball) == cifar_dir(data_dir)
    ds = load_cifar10(data_dir, CFG)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (18, 2, 4)
    assert (ds.channels, ds.seq_len, ds.vocab_size, ds.num_classes) == (3, 1024, 256, 10)
    assert ds.train.tokens.shape == (18, 1024, 3) and ds.train.tokens.dtype == torch.uint8
    train_data = np.concatenate([batches[f"data_batch_{i}"][0] for i in range(1, 6)])
    train_labels = [label for i in range(1, 6) for label in batches[f"data_batch_{i}"][1]]
    # Pixel (row, col) of channel c sits at c*1024 + row*32 + col in the planar source row.
    for image, row, col, channel in [(0, 0, 0, 0), (3, 5, 31, 1), (17, 31, 2, 2), (9, 16, 16, 0)]:
        assert ds.train.tokens[image, row * 32 + col, channel] == train_data[image, channel * 1024 + row * 32 + col]
    assert ds.train.labels.tolist() == train_labels[:18]
    # Validation: the last tenth of the training images, i.e. the end of data_batch_5.
    assert ds.val.tokens[1, 1023, 2] == train_data[19, 3071]
    assert ds.val.labels.tolist() == train_labels[18:]
    test_data, test_labels = batches["test_batch"]
    assert ds.test.tokens[2, 40, 1] == test_data[2, 1024 + 40]
    assert ds.test.labels.tolist() == test_labels
    assert torch.equal(ds.test.tokens[0, :, 0], torch.from_numpy(test_data[0, :1024]))


def test_extracted_folder_and_resizing(tmp_path: pathlib.Path, tarball: pathlib.Path, batches) -> None:
    from_tar, from_folder = tmp_path / "a", tmp_path / "b"
    prepare_cifar10(from_tar, tarball)
    prepare_cifar10(from_folder, write_cifar_folder(tmp_path / "extracted", batches).parent)
    a, b = load_cifar10(from_tar, CFG), load_cifar10(from_folder, CFG)
    assert torch.equal(a.train.tokens, b.train.tokens) and torch.equal(a.test.labels, b.test.labels)
    small = load_cifar10(from_tar, DataConfig(name="cifar10", image_size=16, limit_train=5, limit_eval=3))
    assert small.seq_len == 256 and small.test.tokens.shape == (3, 256, 3)
    # 32 -> 16 averages each 2x2 block of each channel separately.
    blocks = a.test.tokens[:3].view(3, 16, 2, 16, 2, 3).to(torch.float32).mean(dim=(2, 4))
    assert torch.equal(small.test.tokens, blocks.round().to(torch.uint8).view(3, 256, 3))


def test_prepare_is_idempotent(tmp_path: pathlib.Path, tarball: pathlib.Path) -> None:
    prepare_cifar10(tmp_path, tarball)
    stamp = (cifar_dir(tmp_path) / "train.parquet").stat().st_mtime_ns
    prepare_cifar10(tmp_path, tarball)
    prepare_cifar10(tmp_path, None)  # prepared already: no download attempted
    assert (cifar_dir(tmp_path) / "train.parquet").stat().st_mtime_ns == stamp


def test_truncated_tarball_is_refused_by_name(tmp_path: pathlib.Path, tarball: pathlib.Path) -> None:
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(tarball.read_bytes()[: tarball.stat().st_size // 2])
    with pytest.raises(DatasetError, match="corrupt or truncated") as info:
        prepare_cifar10(tmp_path / "data", damaged)
    assert str(damaged) in str(info.value)
    assert not (cifar_dir(tmp_path / "data") / "train.parquet").exists()


def test_official_size_with_wrong_md5_is_refused(tmp_path: pathlib.Path) -> None:
    fake = tmp_path / ARCHIVE
    with open(fake, "wb") as f:
        f.truncate(ARCHIVE_SIZE)  # sparse: cheap to make
    with pytest.raises(DatasetError, match="md5") as info:
        prepare_cifar10(tmp_path / "data", fake)
    assert str(fake) in str(info.value)


def test_foreign_pickle_is_refused_not_run(tmp_path: pathlib.Path, batches) -> None:
    hostile = pickle.dumps(os.getcwd)  # a global outside numpy: would be looked up by a plain unpickler
    tarball = write_cifar_tarball(tmp_path / "bad.tar.gz", batches, {"data_batch_3": hostile})
    with pytest.raises(DatasetError, match="data_batch_3") as info:
        prepare_cifar10(tmp_path / "data", tarball)
    assert "names posix.getcwd, which is not a numpy array part" in str(info.value) and str(tarball) in str(info.value)


def test_missing_dataset_says_where_to_put_it(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DatasetError) as info:
        prepare_cifar10(tmp_path, None)
    message = str(info.value)
    assert str(tmp_path / "downloads" / ARCHIVE) in message and "--source" in message
    assert "network unreachable" in message
    assert list((tmp_path / "downloads").iterdir()) == []  # nothing half-written


def test_registry_entry() -> None:
    info = DATASETS["cifar10"]
    assert (info.kind, info.num_classes, info.channels, info.split_sizes) == ("real", 10, 3, (45_000, 5_000, 10_000))
    assert info.max_steps(DataConfig()) == 1024 and info.max_steps(DataConfig(image_size=16)) == 256
    assert "Krizhevsky 2009" in info.licence
