"""CIFAR-10 (real): the official python-pickle release to Parquet, one RGB pixel (3 tokens) per step.

Source: cifar-10-python.tar.gz (a given path, DATA_DIR/downloads/, or downloaded from Toronto), or the extracted
cifar-10-batches-py directory. Splits: data_batch_1..4 plus the first half of data_batch_5 train (45,000), the
last 5,000 images of data_batch_5 validate (a fixed, seed-free hold-out), test_batch tests (10,000).
"""

from __future__ import annotations

import pathlib
import pickle
import tarfile
import zlib

import numpy as np

from data.catalog import DatasetInfo
from data.config import DataConfig
from data.errors import DatasetError
from data.files import combined_digest, digest_if_official, ensure_download, file_digest
from data.pixels import image_dataset, image_steps
from data.safe_pickle import load_arrays
from data.splits import Dataset
from data.storage import is_prepared, read_splits, reprepare, write_splits

FORMAT_VERSION = "1"
SIDE = 32
CHANNELS = 3
NUM_CLASSES = 10
SPLIT_SIZES = (45_000, 5_000, 10_000)
VAL_FRACTION = 10  # the last 1/10 of the training batches (data_batch_5's second half) is the validation split
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
ARCHIVE = "cifar-10-python.tar.gz"
ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"
ARCHIVE_SIZE = 170_498_071
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"
_REPLACE = f"replace it with a fresh copy of {URL}"


def cifar_dir(data_dir: pathlib.Path) -> pathlib.Path:
    return data_dir / "cifar10"


def _fix(data_dir: pathlib.Path) -> str:
    return (
        f"download {URL} elsewhere and put it at {data_dir / 'downloads' / ARCHIVE}, or run "
        f"`python -m data.prepare cifar10 --data-dir {data_dir} --source PATH` with PATH the tarball "
        f"or its extracted {FOLDER} directory"
    )


def parse_batch(payload: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch pickle as (pixels (N, 1024, 3) uint8 in raster order, labels (N,) int64)."""
    try:
        batch = load_arrays(payload, encoding="bytes")  # numpy arrays, lists and bytes only
        data, labels = batch[b"data"], np.asarray(batch[b"labels"], dtype=np.int64)
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise DatasetError(f"{where} is not a CIFAR-10 batch pickle ({exc!r})") from exc
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * SIDE**2:
        raise DatasetError(f"{where}: b'data' is not an (N, 3072) uint8 array")
    if labels.shape != (len(data),) or (len(labels) and (labels.min() < 0 or labels.max() >= NUM_CLASSES)):
        raise DatasetError(f"{where}: b'labels' is not {len(data)} labels in 0..9")
    # Rows are channel-planar (1024 R, 1024 G, 1024 B, each row-major): one step = (R, G, B) of one pixel.
    pixels = data.reshape(len(data), CHANNELS, SIDE * SIDE).transpose(0, 2, 1)
    return np.ascontiguousarray(pixels), labels


def read_tarball(path: pathlib.Path) -> dict[str, bytes]:
    """The six batch pickles of the official tarball, by batch name, read in one pass."""
    wanted = {f"{FOLDER}/{name}": name for name in (*TRAIN_BATCHES, TEST_BATCH)}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(path, "r:*") as tar:
            for member in tar:
                name = wanted.get(member.name.removeprefix("./"))
                if name is not None and member.isfile():
                    found[name] = tar.extractfile(member).read()
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DatasetError(f"cannot read {path} (corrupt or truncated tarball: {exc}); {_REPLACE}") from exc
    missing = [member for member, name in wanted.items() if name not in found]
    if missing:
        raise DatasetError(f"{path} lacks {', '.join(missing)}; is it {ARCHIVE}? {_REPLACE}")
    return found


def read_folder(folder: pathlib.Path) -> dict[str, bytes]:
    """The six batch pickles of an extracted cifar-10-batches-py directory."""
    missing = [name for name in (*TRAIN_BATCHES, TEST_BATCH) if not (folder / name).is_file()]
    if missing:
        raise DatasetError(f"{folder} lacks {', '.join(missing)}; pass the extracted {FOLDER} directory")
    return {name: (folder / name).read_bytes() for name in (*TRAIN_BATCHES, TEST_BATCH)}


def _locate(data_dir: pathlib.Path, source: pathlib.Path | None) -> tuple[pathlib.Path, str]:
    """The tarball or folder to read, verified where possible, and a checksum naming that exact copy."""
    if source is None:
        archive = ensure_download(URL, data_dir / "downloads" / ARCHIVE, "md5", ARCHIVE_MD5, _fix(data_dir))
        return archive, f"md5:{ARCHIVE_MD5}"
    if (source / ARCHIVE).is_file():
        source = source / ARCHIVE
    if source.is_dir():
        folder = source / FOLDER if (source / FOLDER).is_dir() else source
        names = sorted((*TRAIN_BATCHES, TEST_BATCH))
        return folder, "sha256:" + combined_digest(file_digest(folder / n) for n in names if (folder / n).is_file())
    if not source.is_file():
        raise DatasetError(f"--source {source} does not exist; {_fix(data_dir)}")
    return source, "md5:" + digest_if_official(source, "md5", ARCHIVE_SIZE, ARCHIVE_MD5, URL)


def prepare_cifar10(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """Convert CIFAR-10 to Parquet unless done for this source; return the directory of the split files."""
    out = cifar_dir(data_dir)
    if source is None and is_prepared(out, {"format_version": FORMAT_VERSION}):
        return out
    location, checksum = _locate(data_dir, source)
    if is_prepared(out, {"format_version": FORMAT_VERSION, "source_checksum": checksum}):
        return out
    payloads = read_folder(location) if location.is_dir() else read_tarball(location)
    train = [parse_batch(payloads[name], f"{location} ({name})") for name in TRAIN_BATCHES]
    train_pixels = np.concatenate([pixels for pixels, _ in train])
    train_labels = np.concatenate([labels for _, labels in train])
    n_val = len(train_labels) // VAL_FRACTION
    meta = {
        "dataset": "cifar10", "num_classes": str(NUM_CLASSES), "image_side": str(SIDE), "source": URL,
        "source_checksum": checksum, "format_version": FORMAT_VERSION,
    }  # fmt: skip
    splits = {
        "train": (train_pixels[: len(train_labels) - n_val], train_labels[: len(train_labels) - n_val]),
        "val": (train_pixels[len(train_labels) - n_val :], train_labels[len(train_labels) - n_val :]),
        "test": parse_batch(payloads[TEST_BATCH], f"{location} ({TEST_BATCH})"),
    }
    return write_splits(out, splits, meta)


def load_cifar10(data_dir: pathlib.Path, cfg: DataConfig) -> Dataset:
    """The prepared splits as (N, S*S, 3) tokens, limited and then resized to cfg.image_size (default 32)."""
    fix = reprepare("cifar10", data_dir)
    splits = read_splits(cifar_dir(data_dir), fix, {"format_version": FORMAT_VERSION}, SIDE * SIDE, CHANNELS)
    return image_dataset(splits, cfg, SIDE, NUM_CLASSES, channels=CHANNELS)


INFO = DatasetInfo(
    name="cifar10",
    description=(
        "CIFAR-10 32x32 colour images, one RGB pixel (3 tokens) per step in raster order "
        "(data_batch_1..5 minus the last 5,000 images of data_batch_5, which validate; official test batch)"
    ),
    kind="real",
    source=f"{URL} (md5 {ARCHIVE_MD5}), or the tarball / extracted {FOLDER} via --source",
    licence="no formal licence: research use, cite the tech report (Krizhevsky 2009)",
    num_classes=NUM_CLASSES,
    channels=CHANNELS,
    lengths="1024 RGB steps (32x32; data.image_size=S gives S*S)",
    split_sizes=SPLIT_SIZES,
    max_steps=image_steps(SIDE),
    prepare=prepare_cifar10,
    load=load_cifar10,
    local_copy="the python tarball or its extracted folder",
)
