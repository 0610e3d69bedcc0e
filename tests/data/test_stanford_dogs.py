"""Stanford Dogs from tiny fixtures in the official layouts: solid-colour tokens, labels, sides and errors."""

from __future__ import annotations

import io
import json
import pathlib
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from data import DATASETS, DatasetError
from data.config import DataConfig
from data.stanford_dogs import (
    VAL_SEED,
    decode_image,
    dogs_dir,
    load_stanford_dogs,
    prepare_stanford_dogs,
    side_dir,
)
from data.transforms import hold_out
from tests.data.image_fixtures import dogs_lists, write_dogs_source

LISTS = dogs_lists(train_per_breed=4, test_per_breed=2)  # 12 train (11 + 1 held out), 6 test


def _expected(split: str) -> tuple[np.ndarray, np.ndarray]:
    """(colours (N, 3), 0-based labels) of a loaded split, in its stored order."""
    entries = LISTS["test" if split == "test" else "train"]
    colours = np.array([colour for _, _, colour in entries])
    labels = np.array([label - 1 for _, label, _ in entries])
    if split != "test":
        index = hold_out(len(entries), len(entries) // 10, VAL_SEED)[split == "val"]
        colours, labels = colours[index], labels[index]
    return colours, labels


def _check(ds, side: int) -> None:
    assert (ds.seq_len, ds.channels, ds.num_classes, ds.vocab_size) == (side * side, 3, 120, 256)
    for name in ("train", "val", "test"):
        split = getattr(ds, name)
        colours, labels = _expected(name)
        assert split.tokens.shape == (len(labels), side * side, 3) and split.tokens.dtype == torch.uint8
        assert split.labels.tolist() == labels.tolist()
        # Solid colours: every step is the image's RGB value, within JPEG rounding.
        error = (split.tokens.to(torch.int64) - torch.from_numpy(colours)[:, None, :]).abs()
        assert int(error.max()) <= 3


def test_archives_give_solid_colour_tokens(tmp_path: pathlib.Path) -> None:
    source = write_dogs_source(tmp_path / "src", LISTS, layout="tar")
    assert prepare_stanford_dogs(tmp_path / "data", source) == dogs_dir(tmp_path / "data")
    assert (side_dir(tmp_path / "data", 64) / "test.parquet").is_file()
    ds = load_stanford_dogs(tmp_path / "data", DataConfig(name="stanford_dogs"))
    assert (len(ds.train), len(ds.val), len(ds.test)) == (11, 1, 6)
    _check(ds, 64)
    assert set(ds.test.labels.tolist()) == {0, 1, 2}


def test_extracted_folder_and_a_new_side_from_the_recorded_source(tmp_path: pathlib.Path) -> None:
    source = write_dogs_source(tmp_path / "src", LISTS, layout="folder")
    data_dir = tmp_path / "data"
    prepare_stanford_dogs(data_dir, source)
    assert json.loads((dogs_dir(data_dir) / "source.json").read_text())["source"] == str(source.resolve())
    # No --source here: side 8 is built on first use from the source recorded by prepare.
    ds = load_stanford_dogs(data_dir, DataConfig(name="stanford_dogs", image_size=8, limit_train=4, limit_eval=2))
    assert (side_dir(data_dir, 8) / "train.parquet").is_file()
    assert ds.train.tokens.shape == (4, 64, 3) and ds.test.tokens.shape == (2, 64, 3)
    full = load_stanford_dogs(data_dir, DataConfig(name="stanford_dogs", image_size=8))
    _check(full, 8)
    stamp = (side_dir(data_dir, 8) / "train.parquet").stat().st_mtime_ns
    prepare_stanford_dogs(data_dir, source)  # idempotent: nothing rebuilt
    load_stanford_dogs(data_dir, DataConfig(name="stanford_dogs", image_size=8))
    assert (side_dir(data_dir, 8) / "train.parquet").stat().st_mtime_ns == stamp


def test_a_new_source_replaces_every_side(tmp_path: pathlib.Path) -> None:
    data_dir = tmp_path / "data"
    prepare_stanford_dogs(data_dir, write_dogs_source(tmp_path / "a", LISTS, layout="folder"))
    load_stanford_dogs(data_dir, DataConfig(name="stanford_dogs", image_size=4))
    other = dogs_lists(train_per_breed=4, test_per_breed=2, seed=1)
    prepare_stanford_dogs(data_dir, write_dogs_source(tmp_path / "b", other, layout="tar"))
    assert not (side_dir(data_dir, 4) / "test.parquet").exists()  # built from the old copy: dropped
    ds = load_stanford_dogs(data_dir, DataConfig(name="stanford_dogs", image_size=4))
    colours = torch.tensor([colour for _, _, colour in other["test"]])
    assert int((ds.test.tokens.to(torch.int64) - colours[:, None, :]).abs().max()) <= 3


def test_whole_image_is_resized_without_cropping() -> None:
    image = Image.new("RGB", (40, 20), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 10, 20))  # the left quarter is red; a centre crop would lose it
    out = io.BytesIO()
    image.save(out, "PNG")
    pixels = decode_image(out.getvalue(), 8, "test image").reshape(8, 8, 3)
    # Antialiased bilinear: output column 0 draws on source columns 0..7 (red), columns 3.. on blue ones only.
    assert (pixels[:, 0] == (255, 0, 0)).all() and (pixels[:, 1, 0] > pixels[:, 1, 2]).all()
    assert (pixels[:, 3:] == (0, 0, 255)).all()


def test_damaged_image_is_named(tmp_path: pathlib.Path) -> None:
    source = write_dogs_source(tmp_path / "src", LISTS, layout="folder")
    victim = LISTS["test"][2][0]
    (source / "Images" / victim).write_bytes(b"not a jpeg")
    with pytest.raises(DatasetError, match="cannot decode") as info:
        prepare_stanford_dogs(tmp_path / "data", source)
    assert victim in str(info.value)


def test_missing_dataset_says_what_to_download_and_where(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def offline(*args: object, **kwargs: object) -> None:
        raise OSError("network unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(DatasetError) as info:
        prepare_stanford_dogs(tmp_path, None)
    message = str(info.value)
    for part in ("images.tar", "lists.tar", "http://vision.stanford.edu/aditya86/ImageNetDogs/", "--source"):
        assert part in message
    assert str(tmp_path / "downloads") in message
    assert list((tmp_path / "downloads").iterdir()) == []
    with pytest.raises(DatasetError, match=r"neither images\.tar"):
        prepare_stanford_dogs(tmp_path, tmp_path / "downloads")  # an empty --source directory


def test_registry_entry() -> None:
    info = DATASETS["stanford_dogs"]
    assert (info.kind, info.num_classes, info.channels, info.split_sizes) == ("real", 120, 3, (10_800, 1_200, 8_580))
    assert [info.max_steps(DataConfig(image_size=s)) for s in (None, 32, 90, 128)] == [4096, 1024, 8100, 16384]
