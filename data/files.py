"""File helpers: atomic replacement, checksums and directory creation with clear errors."""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import urllib.request
import uuid
from collections.abc import Callable, Iterator

from data.errors import DatasetError


@contextlib.contextmanager
def atomic_target(final: pathlib.Path) -> Iterator[pathlib.Path]:
    """Yield a temporary path next to `final`; on success move it into place, on failure delete it.

    The temporary file sits in the same directory so that os.replace is an atomic rename; its name is
    unique per process and call so that concurrent preparers never write to the same file.
    """
    # Not mkstemp: its 0600 mode would stick to the final file; the writer creates it under the umask.
    tmp = final.with_name(f".{final.name}.{os.getpid()}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def sha256_file(path: pathlib.Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def ensure_dir(path: pathlib.Path) -> pathlib.Path:
    """Create `path` (and parents) or raise DatasetError saying how to pick another place."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatasetError(
            f"cannot create data directory {path}: {exc}; pass --data-dir or set AUXLSTM_DATA_DIR "
            "to a writable directory"
        ) from exc
    return path


def download_verified(
    url: str,
    target: pathlib.Path,
    verify: Callable[[pathlib.Path, str], None],
    algorithm: str = "sha256",
    timeout: float = 60,
) -> None:
    """Stream `url` to `target` through a temporary file; `verify(tmp_path, hexdigest)` must pass (not raise)
    before the rename. Network failures raise OSError (urllib's URLError is one) for the caller to explain."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with atomic_target(target) as tmp:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                digest.update(chunk)
                out.write(chunk)
        verify(tmp, digest.hexdigest())
