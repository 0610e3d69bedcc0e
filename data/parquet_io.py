"""Parquet storage of one split: a fixed-size list<uint8> `tokens` column and an int64 `label` column."""

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
_GENERIC_FIX = "delete it and prepare the dataset again (python -m data.prepare NAME)"


@dataclass(frozen=True)
class StoredSplit:
    """A split as read from disk: numpy arrays plus the schema metadata, decoded to str."""

    tokens: np.ndarray
    labels: np.ndarray
    metadata: dict[str, str]


def write_split(path: pathlib.Path, tokens: np.ndarray, labels: np.ndarray, metadata: Mapping[str, str]) -> None:
    """Write (N, T) uint8 tokens and (N,) int64 labels to `path` atomically, with schema metadata."""
    if tokens.ndim != 2 or tokens.dtype != np.uint8:
        raise ValueError(f"tokens must be a 2-D uint8 array, got {tokens.dtype} {tokens.shape}")
    if labels.shape != (tokens.shape[0],):
        raise ValueError(f"labels shape {labels.shape} does not match {tokens.shape[0]} rows")
    seq_len = tokens.shape[1]
    token_column = pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(tokens).ravel()), seq_len)
    table = pa.Table.from_arrays([token_column, pa.array(labels.astype(np.int64))], names=[TOKENS, LABEL])
    table = table.replace_schema_metadata({str(k): str(v) for k, v in metadata.items()})
    with atomic_target(path) as tmp:
        # Dictionary encoding of 256 pixel levels reads 2x slower than plain zstd and saves little.
        pq.write_table(
            table,
            tmp,
            compression="zstd",
            use_dictionary=[LABEL],
            write_page_checksum=True,
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
        seq_len = token_column.type.list_size
        # flatten() honours slicing offsets (unlike .values); writable=True gives torch its own copy.
        tokens = token_column.flatten().to_numpy(zero_copy_only=False, writable=True).reshape(-1, seq_len)
        labels = table.column(LABEL).to_numpy().astype(np.int64, copy=True)
    except DatasetError as exc:
        raise DatasetError(f"{exc}; {fix}") from exc
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise DatasetError(f"cannot read {path} (corrupt or truncated: {exc}); {fix}") from exc
    return StoredSplit(tokens=tokens, labels=labels, metadata=_decode(table.schema.metadata))


def _check_schema(path: pathlib.Path, schema: pa.Schema) -> None:
    names = set(schema.names)
    if TOKENS not in names or LABEL not in names:
        raise DatasetError(f"{path} lacks the '{TOKENS}' and '{LABEL}' columns (has {schema.names})")
    token_type = schema.field(TOKENS).type
    if not (pa.types.is_fixed_size_list(token_type) and token_type.value_type == pa.uint8()):
        raise DatasetError(f"{path}: column '{TOKENS}' is {token_type}, expected fixed_size_list<uint8>")
    if schema.field(LABEL).type != pa.int64():
        raise DatasetError(f"{path}: column '{LABEL}' is {schema.field(LABEL).type}, expected int64")


def _decode(metadata: Mapping[bytes, bytes] | None) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in (metadata or {}).items()}
