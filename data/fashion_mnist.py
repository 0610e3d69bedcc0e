"""Fashion-MNIST (Zalando), the stand-in for CIFAR-10: official IDX files to Parquet, then load like MNIST.

Source: the Debian package dataset-fashion-mnist, or a directory holding the four official IDX .gz files.
Splits: the official 60k training images split 55k / 5k by a fixed seed, and the official 10k test images.
"""

from __future__ import annotations

import gzip
import pathlib
import zlib

import numpy as np

from data.catalog import DatasetInfo
from data.config import DataConfig
from data.errors import DatasetError
from data.files import combined_digest, file_digest
from data.pixels import image_dataset, image_steps
from data.splits import Dataset
from data.storage import is_prepared, read_splits, reprepare, write_splits
from data.transforms import hold_out

FORMAT_VERSION = "1"
SIDE = 28
NUM_CLASSES = 10
SPLIT_SIZES = (55_000, 5_000, 10_000)
VAL_SEED = 2018_0301  # fixed: every run holds out the same 5,000 training images
PACKAGE = "dataset-fashion-mnist"
PACKAGE_DIR = pathlib.Path("/usr/share/datasets/fashion-mnist")
UPSTREAM = "https://github.com/zalandoresearch/fashion-mnist"
# (images, labels) per official split, and the official example counts.
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
ALL_FILES = tuple(name for pair in FILES.values() for name in pair)
OFFICIAL_SIZES = {"train": 60_000, "test": 10_000}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049  # IDX: unsigned bytes with 3 dimensions / with 1 dimension


def fashion_dir(data_dir: pathlib.Path) -> pathlib.Path:
    return data_dir / "fashion_mnist"


def _fix(data_dir: pathlib.Path) -> str:
    return (
        f"install the Debian/Ubuntu package (as root: `apt-get install {PACKAGE}`, which puts the files in "
        f"{PACKAGE_DIR}), or download the four IDX .gz files ({', '.join(ALL_FILES)}) from {UPSTREAM} "
        f"into a directory DIR and run `python -m data.prepare fashion_mnist --data-dir {data_dir} --source DIR`"
    )


def read_idx(path: pathlib.Path, magic: int, ndim: int) -> np.ndarray:
    """A gzipped IDX file of unsigned bytes as a numpy array, after checking its magic number and dimensions."""
    try:
        with gzip.open(path, "rb") as f:
            payload = f.read()
    except (OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"cannot read {path} as gzip ({exc}); replace it with the official file") from exc
    header = 4 + 4 * ndim
    if len(payload) < header:
        raise DatasetError(f"{path} is too short for an IDX header; replace it with the official file")
    found, *dims = np.frombuffer(payload, dtype=">u4", count=1 + ndim)
    if found != magic:
        raise DatasetError(f"{path} has IDX magic number {found}, expected {magic}; is it the right file?")
    if len(payload) - header != int(np.prod(dims)):
        raise DatasetError(f"{path}: {len(payload) - header} data bytes, but its header says {dims}; truncated?")
    return np.frombuffer(payload, dtype=np.uint8, offset=header).reshape([int(d) for d in dims])


def read_official(directory: pathlib.Path, split: str) -> tuple[np.ndarray, np.ndarray]:
    """(images (N, 784) uint8, labels (N,) int64) of one official split, checked against the known counts."""
    image_file, label_file = (directory / name for name in FILES[split])
    images = read_idx(image_file, _IMAGES_MAGIC, 3)
    labels = read_idx(label_file, _LABELS_MAGIC, 1).astype(np.int64)
    expected = OFFICIAL_SIZES[split]
    if images.shape != (expected, SIDE, SIDE):
        raise DatasetError(f"{image_file} holds images of shape {images.shape}, expected ({expected}, 28, 28)")
    if labels.shape != (expected,) or labels.max() >= NUM_CLASSES:
        raise DatasetError(f"{label_file} holds {labels.shape[0]} labels up to {labels.max()}, expected {expected}")
    return images.reshape(expected, SIDE * SIDE), labels


def source_checksum(directory: pathlib.Path) -> str:
    """sha256 over the four files' sha256s. Debian recompressed the .gz files, so upstream's md5s cannot be
    pinned for both sources: the content is checked by structure and counts, and this records which copy it was."""
    return combined_digest(file_digest(directory / n) for n in sorted(ALL_FILES))


def prepare_fashion_mnist(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """Convert the IDX files to Parquet unless done for this source; return the directory of the split files."""
    out = fashion_dir(data_dir)
    if source is None and is_prepared(out, {"format_version": FORMAT_VERSION}):
        return out
    directory = PACKAGE_DIR if source is None else source
    missing = [n for n in ALL_FILES if not (directory / n).is_file()]
    if missing:
        raise DatasetError(f"Fashion-MNIST files missing in {directory}: {', '.join(missing)}; {_fix(data_dir)}")
    checksum = source_checksum(directory)
    if is_prepared(out, {"format_version": FORMAT_VERSION, "source_sha256": checksum}):
        return out
    train_images, train_labels = read_official(directory, "train")
    test_images, test_labels = read_official(directory, "test")
    train, val = hold_out(len(train_labels), SPLIT_SIZES[1], VAL_SEED)
    meta = {
        "dataset": "fashion_mnist", "num_classes": str(NUM_CLASSES), "image_side": str(SIDE),
        "source": str(directory), "source_sha256": checksum, "format_version": FORMAT_VERSION,
    }  # fmt: skip
    splits = {
        "train": (train_images[train], train_labels[train]),
        "val": (train_images[val], train_labels[val]),
        "test": (test_images, test_labels),
    }
    return write_splits(out, splits, meta)


def load_fashion_mnist(data_dir: pathlib.Path, cfg: DataConfig) -> Dataset:
    """The prepared splits, limited (limit_train, limit_eval) and then resized to cfg.image_size."""
    fix = reprepare("fashion_mnist", data_dir)
    splits = read_splits(fashion_dir(data_dir), fix, {"format_version": FORMAT_VERSION}, SIDE * SIDE, 1)
    return image_dataset(splits, cfg, SIDE, NUM_CLASSES, channels=1)


INFO = DatasetInfo(
    name="fashion_mnist",
    description=(
        "Fashion-MNIST clothing images (28x28 grey) read pixel by pixel in raster order; stand-in for CIFAR-10, "
        "which no package registry ships (official 60k train split 55k/5k by a fixed seed, official 10k test)"
    ),
    kind="stand-in for cifar10",
    source=(
        f"Debian package {PACKAGE} ({PACKAGE_DIR}), or the four official IDX .gz files from {UPSTREAM} via --source DIR"
    ),
    licence="MIT (Expat), Zalando SE",
    num_classes=NUM_CLASSES,
    channels=1,
    lengths="784 (28x28; data.image_size=S gives S*S)",
    split_sizes=SPLIT_SIZES,
    max_steps=image_steps(SIDE),
    prepare=prepare_fashion_mnist,
    load=load_fashion_mnist,
    local_copy="a folder with the four IDX .gz files",
)
