"""Parquet storage of one split: a `tokens` list<uint8> column and an int64 `label` column.

Fixed-length data uses a fixed-size list of T*C tokens per row (C channel tokens per step, metadata `channels`);
variable-length text uses a plain list column plus an int64 `length` column, and is read back right-padded.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from data.errors import DatasetError
from data.files import atomic_target

TOKENS = "tokens"
LABEL = "label"
LENGTH = "length"
_GENERIC_FIX = "delete it and prepare the dataset again (python -m data.prepare NAME)"
_PAD_ROWS = 4096  # rows padded at a time: bounds the (rows, T) mask of one block
ROW_GROUP = 16_384  # rows per Parquet row group: the writer encodes one group at a time


@dataclass(frozen=True)
class StoredSplit:
    """A split as read from disk: numpy arrays plus the schema metadata, decoded to str."""

    tokens: np.ndarray  # (N, T) or (N, T, C) uint8, right-padded with 0 when `lengths` is set
    labels: np.ndarray
    metadata: dict[str, str]
    lengths: np.ndarray | None = None


def write_split(
    path: pathlib.Path,
    tokens: np.ndarray,
    labels: np.ndarray,
    metadata: Mapping[str, str],
    lengths: np.ndarray | None = None,
) -> None:
    """Write tokens ((N, T) or (N, T, C) uint8; right-padded when `lengths` (N,) is given) and (N,) labels
    to `path` atomically, with schema metadata (plus `seq_len` and `channels`)."""
    if tokens.ndim not in (2, 3) or tokens.dtype != np.uint8:
        raise ValueError(f"tokens must be a 2-D or 3-D uint8 array, got {tokens.dtype} {tokens.shape}")
    if labels.shape != (tokens.shape[0],):
        raise ValueError(f"labels shape {labels.shape} does not match {tokens.shape[0]} rows")
    n, seq_len = tokens.shape[:2]
    channels = tokens.shape[2] if tokens.ndim == 3 else 1
    flat = np.ascontiguousarray(tokens).reshape(n, seq_len * channels)
    if lengths is not None:
        lengths = np.asarray(lengths, dtype=np.int64)
        if lengths.shape != (n,) or (n and (lengths.min() < 1 or lengths.max() > seq_len)):
            raise ValueError(f"lengths must be (N,) in [1, {seq_len}], got shape {lengths.shape}")
        real = np.arange(seq_len * channels)[None] < (lengths * channels)[:, None]
        write_ragged_split(path, flat[real], lengths, labels, metadata, channels=channels, seq_len=seq_len)
        return
    fixed = pa.FixedSizeListArray.from_arrays(pa.array(flat.ravel()), seq_len * channels)
    table = pa.Table.from_arrays([fixed, pa.array(labels.astype(np.int64))], names=[TOKENS, LABEL])
    _write(path, table, metadata, seq_len, channels)


def write_ragged_split(
    path: pathlib.Path,
    values: np.ndarray,
    lengths: np.ndarray,
    labels: np.ndarray,
    metadata: Mapping[str, str],
    *,
    channels: int = 1,
    seq_len: int | None = None,
) -> None:
    """Write variable-length sequences given as their tokens one after another (values: (sum(lengths) * C,)
    uint8) and (N,) lengths in steps, without ever padding them; `seq_len` defaults to the longest."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if values.dtype != np.uint8 or values.ndim != 1 or len(values) != int(lengths.sum()) * channels:
        raise ValueError(f"values must be 1-D uint8 of sum(lengths) * channels, got {values.dtype} {values.shape}")
    if labels.shape != lengths.shape or (len(lengths) and lengths.min() < 1):
        raise ValueError(f"labels {labels.shape} and lengths {lengths.shape} must be (N,), every length >= 1")
    offsets = np.concatenate([[0], np.cumsum(lengths * channels)]).astype(np.int32)
    columns = [
        pa.ListArray.from_arrays(pa.array(offsets), pa.array(values)),
        pa.array(labels.astype(np.int64)),
        pa.array(lengths),
    ]
    table = pa.Table.from_arrays(columns, names=[TOKENS, LABEL, LENGTH])
    _write(path, table, metadata, int(lengths.max(initial=1)) if seq_len is None else seq_len, channels)


def pad_ragged(values: np.ndarray, lengths: np.ndarray, width: int, channels: int = 1) -> np.ndarray:
    """(N, width * channels) uint8, row i holding its lengths[i] * channels values then zeros. Works through
    rows in blocks, so no (N, width) index or mask array is ever built."""
    tokens = np.zeros((len(lengths), width * channels), dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum(lengths * channels)])
    for first in range(0, len(lengths), _PAD_ROWS):
        last = min(first + _PAD_ROWS, len(lengths))
        block = tokens[first:last]
        real = np.arange(width * channels)[None] < (lengths[first:last] * channels)[:, None]
        block[real] = values[starts[first] : starts[last]]
    return tokens


def _write(path: pathlib.Path, table: pa.Table, metadata: Mapping[str, str], seq_len: int, channels: int) -> None:
    meta = {"seq_len": str(seq_len), "channels": str(channels), **{str(k): str(v) for k, v in metadata.items()}}
    table = table.replace_schema_metadata(meta)
    with atomic_target(path) as tmp:
        # Dictionary encoding of 256 pixel levels reads 2x slower than plain zstd and saves little.
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            use_dictionary=[LABEL],
            write_page_checksum=True,
            row_group_size=ROW_GROUP,
        )


def read_metadata(path: pathlib.Path) -> dict[str, str] | None:
    """The schema metadata of a split file, or None when it is missing or unreadable (cheap: footer only)."""
    try:
        schema = pq.read_schema(path)
    except (OSError, ValueError, pa.ArrowException):
        return None
    return _decode(schema.metadata)


def read_split(path: pathlib.Path, fix: str = _GENERIC_FIX) -> StoredSplit:
    """Read a split written by write_split; any damage raises DatasetError naming `path` and `fix`."""
    if not path.is_file():
        raise DatasetError(f"{path} does not exist; {fix}")
    try:
        table = pq.read_table(path, memory_map=True, page_checksum_verification=True)
        _check_schema(path, table.schema)
        token_column = table.column(TOKENS).combine_chunks()
        if token_column.null_count or table.column(LABEL).null_count:
            raise DatasetError(f"{path} contains null rows")
        metadata = _decode(table.schema.metadata)
        channels = int(metadata.get("channels", "1"))
        labels = table.column(LABEL).to_numpy().astype(np.int64, copy=True)
        lengths = None
        # flatten() honours slicing offsets (unlike .values); writable=True gives torch its own copy.
        values = token_column.flatten().to_numpy(zero_copy_only=False, writable=True)
        if pa.types.is_fixed_size_list(token_column.type):
            tokens = values.reshape(len(labels), -1)
        else:
            lengths = table.column(LENGTH).to_numpy().astype(np.int64, copy=True)
            if (np.diff(token_column.offsets.to_numpy()) != lengths * channels).any():
                raise DatasetError(f"{path}: column '{LENGTH}' disagrees with the token lists")
            seq_len = int(metadata.get("seq_len", lengths.max(initial=1)))
            tokens = pad_ragged(values, lengths, seq_len, channels)
        if channels > 1:
            tokens = tokens.reshape(len(labels), -1, channels)
    except DatasetError as exc:
        raise DatasetError(f"{exc}; {fix}") from exc
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DatasetError(f"cannot read {path} (corrupt or truncated: {exc}); {fix}") from exc
    return StoredSplit(tokens=tokens, labels=labels, metadata=metadata, lengths=lengths)


def _check_schema(path: pathlib.Path, schema: pa.Schema) -> None:
    names = set(schema.names)
    if TOKENS not in names or LABEL not in names:
        raise DatasetError(f"{path} lacks the '{TOKENS}' and '{LABEL}' columns (has {schema.names})")
    token_type = schema.field(TOKENS).type
    fixed = pa.types.is_fixed_size_list(token_type)
    if not ((fixed or pa.types.is_list(token_type)) and token_type.value_type == pa.uint8()):
        raise DatasetError(f"{path}: column '{TOKENS}' is {token_type}, expected a list of uint8")
    if not fixed and LENGTH not in names:
        raise DatasetError(f"{path}: variable-length tokens without a '{LENGTH}' column")
    if schema.field(LABEL).type != pa.int64():
        raise DatasetError(f"{path}: column '{LABEL}' is {schema.field(LABEL).type}, expected int64")


def _decode(metadata: Mapping[bytes, bytes] | None) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in (metadata or {}).items()}
