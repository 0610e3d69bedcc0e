"""A prepared dataset carried to nodes that cannot prepare it: uploaded once, by the driver, to a store every node
reaches (the sweep's object storage), and copied from there into a node's own cache before a trial reads it.

A cluster's worker nodes may be offline, lack the Debian packages behind the stand-in datasets, or be unable to
create the driver's data path; and a dataset the driver prepared from a `--source` subset must not be prepared
again, differently, elsewhere. A shipped copy is named by its checksum (`NAME-SHA16`), so a node never mixes two
versions; both sides copy into a temporary place first and mark a copy complete only when all of it is there.
`filesystem` is any pyarrow filesystem (S3, GCS, HDFS, local); nothing here knows Ray.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import uuid

import pyarrow.fs

from data.errors import DatasetError
from data.files import ensure_dir

COMPLETE = ".complete"  # written last: the copy beside it is whole
_SHIPPED = "shipped"  # DATA_DIR/shipped/NAME-SHA16/: a node's copies


def shipped_name(name: str, checksum: str) -> str:
    return f"{name}-{checksum[:16]}"


def _is_file(fs: pyarrow.fs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type == pyarrow.fs.FileType.File


def prepared_files(prepared: pathlib.Path) -> list[pathlib.Path]:
    """The files of a prepared dataset (a folder or one file) that runs read: its Parquet splits and NumPy arrays,
    not the downloads they were made from."""
    files = sorted(prepared.rglob("*")) if prepared.is_dir() else [prepared]
    return [path for path in files if path.is_file() and path.suffix in (".parquet", ".npy")]


def upload(prepared: pathlib.Path, fs: pyarrow.fs.FileSystem, place: str) -> bool:
    """Copy the prepared dataset `prepared` (its `prepared_files`, under its own name) to `place` on `fs`, unless
    a complete copy is there already; True when it copied."""
    if _is_file(fs, f"{place}/{COMPLETE}"):
        return False
    for path in prepared_files(prepared):
        target = f"{place}/{path.relative_to(prepared.parent).as_posix()}"
        fs.create_dir(target.rpartition("/")[0], recursive=True)
        with path.open("rb") as source, fs.open_output_stream(target) as stream:
            shutil.copyfileobj(source, stream, 1 << 20)
    with fs.open_output_stream(f"{place}/{COMPLETE}") as stream:
        stream.write(prepared.name.encode())
    return True


def fetch(fs: pyarrow.fs.FileSystem, place: str, data_dir: pathlib.Path, name: str) -> pathlib.Path:
    """A local data directory holding the dataset shipped to `place` (named `name`, see `shipped_name`): this node's
    copy under `data_dir`/shipped/, made from `fs` the first time. Raises DatasetError when the store has none."""
    local = data_dir / _SHIPPED / name
    if (local / COMPLETE).is_file():
        return local
    try:
        complete = _is_file(fs, f"{place}/{COMPLETE}")
    except OSError as err:
        raise DatasetError(f"the shipped dataset {place} cannot be read from this node: {err}") from err
    if not complete:
        raise DatasetError(
            f"no complete shipped dataset at {place}: the sweep's driver uploads it when the sweep starts; "
            "start the sweep again (or --resume it) so that it does"
        )
    ensure_dir(local.parent)
    tmp = local.with_name(f".{name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        local_fs = pyarrow.fs.LocalFileSystem()
        pyarrow.fs.copy_files(place, str(tmp), source_filesystem=fs, destination_filesystem=local_fs)
        try:
            os.rename(tmp, local)
        except OSError:  # another trial on this node finished its copy first: it is the same data
            if not (local / COMPLETE).is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return local
