"""A prepared dataset shipped through a store every node reaches (data.shipping): uploaded once, copied whole into
a node's cache, the downloads it was made from left behind."""

from __future__ import annotations

import pathlib

import pyarrow.fs
import pytest

from data.errors import DatasetError
from data.shipping import COMPLETE, fetch, prepared_files, shipped_name, upload

LOCAL = pyarrow.fs.LocalFileSystem()


def _prepared(root: pathlib.Path) -> pathlib.Path:
    prepared = root / "cache" / "toy"
    (prepared / "downloads").mkdir(parents=True)
    (prepared / "downloads" / "source.whl").write_bytes(b"w" * 100)  # what it was made from: not shipped
    for split in ("train", "val", "test"):
        (prepared / f"{split}.parquet").write_bytes(split.encode() * 1000)
    (prepared / "perm.npy").write_bytes(b"p" * 10)
    return prepared


def test_a_shipped_dataset_arrives_whole_in_the_nodes_cache_with_the_files_runs_read(tmp_path):
    prepared = _prepared(tmp_path)
    store = str(tmp_path / "bucket" / shipped_name("toy", "ab" * 32))
    assert upload(prepared, LOCAL, store) is True
    assert upload(prepared, LOCAL, store) is False  # complete already: not copied again
    local = fetch(LOCAL, store, tmp_path / "node", shipped_name("toy", "ab" * 32))
    assert local == tmp_path / "node" / "shipped" / "toy-abababababababab" and (local / COMPLETE).is_file()
    got = {p.relative_to(local).as_posix(): p.read_bytes() for p in prepared_files(local / "toy")}
    want = {p.relative_to(prepared.parent).as_posix(): p.read_bytes() for p in prepared_files(prepared)}
    assert got == want and len(want) == 4 and not (local / "toy" / "downloads").exists()
    (local / "toy" / "train.parquet").write_bytes(b"kept")  # a second fetch uses this node's copy as it is
    assert fetch(LOCAL, store, tmp_path / "node", shipped_name("toy", "ab" * 32)) == local
    assert (local / "toy" / "train.parquet").read_bytes() == b"kept"


def test_a_store_without_a_complete_copy_is_refused_naming_the_fix(tmp_path):
    prepared = _prepared(tmp_path)
    store = tmp_path / "bucket" / "toy-half"
    store.mkdir(parents=True)
    (store / "train.parquet").write_bytes((prepared / "train.parquet").read_bytes())  # an upload cut short
    with pytest.raises(DatasetError, match=r"no complete shipped dataset at .*toy-half.*--resume"):
        fetch(LOCAL, str(store), tmp_path / "node", "toy-half")
    assert not (tmp_path / "node" / "shipped" / "toy-half").exists()
