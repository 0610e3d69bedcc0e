"""Files on disk, safely: atomic writes, digests, pinned checksums, verified downloads and copies.

Every refusal is a DatasetError naming the file and the fix; nothing half-written is ever left in place.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import shutil
import urllib.request
import uuid
from collections.abc import Callable, Iterable, Iterator

from data.errors import DatasetError

DOWNLOAD_TIMEOUT_S = 60
_CHUNK = 1 << 20  # bytes per read while hashing or downloading


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


def file_digest(path: pathlib.Path, algorithm: str = "sha256") -> str:
    """Hex digest ("sha256" or "md5") of a file, read in chunks."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def combined_digest(digests: Iterable[str]) -> str:
    """One sha256 naming several files (or parts): the sha256 of their hex digests, concatenated in order."""
    return hashlib.sha256("".join(digests).encode()).hexdigest()


def verify_file(path: pathlib.Path, algorithm: str, expected: str, fix: str) -> None:
    """Raise DatasetError naming `path` and `fix` unless the file exists and has the pinned digest."""
    if not path.is_file():
        raise DatasetError(f"{path} does not exist; {fix}")
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise DatasetError(
            f"{path} has {algorithm} {actual}, expected {expected} (corrupt, truncated or a different file); {fix}"
        )


def digest_if_official(path: pathlib.Path, algorithm: str, size: int, expected: str, url: str) -> str:
    """The digest of a local archive. Only a file of the official size claims to be the official archive, so
    only then is the pinned digest enforced; smaller archives in the same layout (test fixtures, subsets) are
    hashed as they are and validated by structure when read."""
    if path.stat().st_size == size:
        verify_file(path, algorithm, expected, f"download a fresh copy of {url}")
        return expected
    return file_digest(path, algorithm)


def download(
    url: str,
    target: pathlib.Path,
    fix: str,
    *,
    pinned: tuple[str, str] | None = None,
    check: Callable[[pathlib.Path], object] | None = None,
) -> pathlib.Path:
    """Stream `url` to `target` through a temporary file, renamed into place only once the `pinned`
    (algorithm, hex digest) matches and `check(tmp)` has not raised. Failures raise DatasetError naming
    the url, the target and `fix`."""
    ensure_dir(target.parent)
    digest = hashlib.new(pinned[0] if pinned else "sha256", usedforsecurity=False)
    try:
        with atomic_target(target) as tmp:
            with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT_S) as response, open(tmp, "wb") as out:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
            if pinned and digest.hexdigest() != pinned[1]:
                raise DatasetError(
                    f"{url} sent a file with {pinned[0]} {digest.hexdigest()}, expected {pinned[1]}; "
                    f"nothing was kept at {target}; {fix}"
                )
            if check is not None:
                check(tmp)
    except OSError as exc:  # urllib's URLError and socket timeouts are OSErrors
        raise DatasetError(f"could not download {url} to {target} ({exc}); {fix}") from exc
    return target


def ensure_download(url: str, target: pathlib.Path, algorithm: str, expected: str, fix: str) -> pathlib.Path:
    """The pinned file at `target`: the kept copy (verified), else downloaded from `url` (verified before the
    rename); refusals end with `fix`."""
    return ensure_pinned(
        target, algorithm, expected, kept_fix=f"delete it and prepare again, or {fix}",
        fetch=lambda path: download(url, path, fix, pinned=(algorithm, expected)),
    )  # fmt: skip


def ensure_pinned(
    target: pathlib.Path,
    algorithm: str,
    expected: str,
    *,
    fetch: Callable[[pathlib.Path], object],
    kept_fix: str,
    source: pathlib.Path | None = None,
    source_fix: str = "",
) -> pathlib.Path:
    """The file at `target` with the pinned digest: copied from `source` (verified first, and only when the kept
    copy differs), else the kept copy (verified), else `fetch(target)`, which verifies before its rename."""
    ensure_dir(target.parent)
    if source is not None:
        verify_file(source, algorithm, expected, source_fix)
        if not (target.is_file() and file_digest(target, algorithm) == expected):
            with atomic_target(target) as tmp:
                shutil.copyfile(source, tmp)
    elif target.is_file():
        verify_file(target, algorithm, expected, kept_fix)
    else:
        fetch(target)
    return target
