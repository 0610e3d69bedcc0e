"""Parquet storage: exact round trip, refusal of damaged files, and atomic writes."""

from __future__ import annotations

import pathlib
import shutil

import numpy as np
import pyarrow.parquet as pq
import pytest

from data import DatasetError, parquet_io
from data.parquet_io import pad_ragged, read_metadata, read_split, write_ragged_split, write_split


def _random_split(rows: int = 300, steps: int = 49) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.integers(0, 256, (rows, steps), dtype=np.uint8), rng.integers(0, 10, rows, dtype=np.int64)


def test_round_trip_is_exact(tmp_path: pathlib.Path) -> None:
    tokens, labels = _random_split()
    meta = {"vocab_size": "256", "seq_len": "49", "note": "ünïcode"}
    path = tmp_path / "split.parquet"
    write_split(path, tokens, labels, meta)
    stored = read_split(path)
    assert stored.tokens.dtype == np.uint8 and stored.labels.dtype == np.int64
    np.testing.assert_array_equal(stored.tokens, tokens)
    np.testing.assert_array_equal(stored.labels, labels)
    assert stored.metadata == {**meta, "channels": "1"}  # seq_len and channels are always recorded
    assert read_metadata(path) == stored.metadata
    assert stored.tokens.flags.writeable


def test_truncated_file_is_refused_naming_it(tmp_path: pathlib.Path, data_dir: pathlib.Path) -> None:
    path = tmp_path / "test.parquet"
    shutil.copyfile(data_dir / "mnist" / "test.parquet", path)
    payload = path.read_bytes()
    path.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DatasetError, match=r"data\.prepare") as info:
        read_split(path)
    assert str(path) in str(info.value)
    assert read_metadata(path) is None


def test_damaged_page_is_refused_naming_it(tmp_path: pathlib.Path, data_dir: pathlib.Path) -> None:
    path = tmp_path / "test.parquet"
    shutil.copyfile(data_dir / "mnist" / "test.parquet", path)
    payload = bytearray(path.read_bytes())
    payload[len(payload) // 3 : len(payload) // 3 + 64] = bytes(64)  # inside the token pages
    path.write_bytes(bytes(payload))
    with pytest.raises(DatasetError) as info:
        read_split(path)
    assert str(path) in str(info.value)


def test_wrong_column_type_is_refused(tmp_path: pathlib.Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "bad.parquet"
    pq.write_table(pa.table({"tokens": pa.array([[1, 2]], pa.list_(pa.int32())), "label": [0]}), path)
    with pytest.raises(DatasetError, match="expected a list of uint8") as info:
        read_split(path)
    assert str(path) in str(info.value)


def test_missing_file_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        read_split(tmp_path / "absent.parquet")


def test_failed_write_leaves_no_file(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def write_half_then_fail(table: object, where: object, **kwargs: object) -> None:
        pathlib.Path(str(where)).write_bytes(b"PAR1" + bytes(1000))
        raise OSError("simulated: disk full")

    monkeypatch.setattr(parquet_io.pq, "write_table", write_half_then_fail)
    tokens, labels = _random_split()
    with pytest.raises(OSError, match="simulated"):
        write_split(tmp_path / "split.parquet", tokens, labels, {})
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_previous_file(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "split.parquet"
    tokens, labels = _random_split()
    write_split(path, tokens, labels, {"version": "old"})

    def fail(table: object, where: object, **kwargs: object) -> None:
        raise OSError("simulated")

    monkeypatch.setattr(parquet_io.pq, "write_table", fail)
    with pytest.raises(OSError):
        write_split(path, tokens[:5], labels[:5], {"version": "new"})
    assert [p.name for p in tmp_path.iterdir()] == ["split.parquet"]
    assert read_split(path).metadata["version"] == "old"


def test_rgb_round_trip_is_exact(tmp_path: pathlib.Path) -> None:
    rng = np.random.default_rng(1)
    tokens = rng.integers(0, 256, size=(5, 16, 3), dtype=np.uint8)
    path = tmp_path / "rgb.parquet"
    write_split(path, tokens, np.arange(5), {"dataset": "x"})
    stored = read_split(path)
    np.testing.assert_array_equal(stored.tokens, tokens)
    assert (stored.metadata["seq_len"], stored.metadata["channels"]) == ("16", "3") and stored.lengths is None


def test_variable_length_round_trip_is_exact(tmp_path: pathlib.Path) -> None:
    rng = np.random.default_rng(2)
    lengths = np.array([4, 1, 9, 6])
    tokens = rng.integers(1, 256, size=(4, 9), dtype=np.uint8)
    tokens[np.arange(9)[None] >= lengths[:, None]] = 0
    path = tmp_path / "text.parquet"
    write_split(path, tokens, np.arange(4), {"dataset": "x"}, lengths=lengths)
    stored = read_split(path)
    np.testing.assert_array_equal(stored.tokens, tokens)
    np.testing.assert_array_equal(stored.lengths, lengths)
    assert pq.read_table(path).column("tokens").to_pylist()[1] == [int(tokens[1, 0])]  # stored unpadded


@pytest.mark.parametrize("channels", [1, 3])
def test_ragged_writes_equal_padded_ones_across_row_groups_and_padding_blocks(tmp_path, monkeypatch, channels):
    monkeypatch.setattr(parquet_io, "ROW_GROUP", 3)  # several row groups
    monkeypatch.setattr(parquet_io, "_PAD_ROWS", 2)  # several padding blocks
    rng = np.random.default_rng(5)
    lengths = np.array([4, 1, 9, 6, 2, 9, 3])
    padded = rng.integers(1, 256, size=(7, 9, channels), dtype=np.uint8)
    padded[np.arange(9)[None] >= lengths[:, None]] = 0
    values = np.concatenate([padded[i, : lengths[i]].ravel() for i in range(7)])
    write_ragged_split(tmp_path / "r.parquet", values, lengths, np.arange(7), {"dataset": "x"}, channels=channels)
    write_split(tmp_path / "p.parquet", padded if channels > 1 else padded[..., 0], np.arange(7), {}, lengths=lengths)
    for name in ("r", "p"):
        stored = read_split(tmp_path / f"{name}.parquet")
        np.testing.assert_array_equal(stored.tokens, padded if channels > 1 else padded[..., 0])
        np.testing.assert_array_equal(stored.lengths, lengths)
    assert pq.ParquetFile(tmp_path / "r.parquet").num_row_groups == 3
    np.testing.assert_array_equal(pad_ragged(values, lengths, 9, channels), padded.reshape(7, -1))
    with pytest.raises(ValueError, match="sum"):
        write_ragged_split(tmp_path / "bad.parquet", values[:-1], lengths, np.arange(7), {}, channels=channels)
