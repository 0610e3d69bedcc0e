"""Where prepared datasets live, and their three Parquet split files (train, val, test) under DATA_DIR/NAME/.

One split file's format is data.parquet_io; this module is the layer every dataset shares above it: the data
directory, the split paths, the is-it-prepared test on footers, and writing and reading fixed-length splits.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable, Mapping

import numpy as np
import torch

from data.errors import DatasetError
from data.files import ensure_dir
from data.parquet_io import read_metadata, read_split, write_split
from data.splits import SequenceSplit

DATA_DIR_ENV = "AUXLSTM_DATA_DIR"
SPLITS = ("train", "val", "test")


def default_data_dir(cli_value: str | None = None) -> pathlib.Path:
    """The data directory: `cli_value`, else $AUXLSTM_DATA_DIR, else ~/.cache/auxlstm; an empty value counts as
    unset."""
    if cli_value:
        return pathlib.Path(cli_value).expanduser()
    env_value = os.environ.get(DATA_DIR_ENV)
    if env_value:
        return pathlib.Path(env_value).expanduser()
    return pathlib.Path.home() / ".cache" / "auxlstm"


def split_path(directory: pathlib.Path, split: str) -> pathlib.Path:
    return directory / f"{split}.parquet"


def reprepare(name: str, data_dir: pathlib.Path) -> str:
    """The fix for a damaged prepared file of dataset `name`."""
    return f"delete it and re-run `python -m data.prepare {name} --data-dir {data_dir}`"


def is_prepared(directory: pathlib.Path, expected: Mapping[str, str], present: Iterable[str] = ()) -> bool:
    """True when all three split files exist and their metadata holds every `expected` item and every `present`
    key (reads footers only)."""
    for split in SPLITS:
        meta = read_metadata(split_path(directory, split))
        if meta is None or any(meta.get(key) != value for key, value in expected.items()):
            return False
        if any(key not in meta for key in present):
            return False
    return True


def write_splits(
    directory: pathlib.Path, splits: Mapping[str, tuple[np.ndarray, np.ndarray]], metadata: Mapping[str, str]
) -> pathlib.Path:
    """Write {split: (tokens uint8, labels)} to directory/SPLIT.parquet, each file atomically."""
    ensure_dir(directory)
    for split, (tokens, labels) in splits.items():
        write_split(split_path(directory, split), tokens, labels, {**metadata, "split": split})
    return directory


def read_splits(
    directory: pathlib.Path, fix: str, expected: Mapping[str, str], steps: int, channels: int
) -> tuple[SequenceSplit, SequenceSplit, SequenceSplit]:
    """Read the three fixed-length splits, refusing files of another format, length or channel count."""
    out = []
    shape = (steps, channels) if channels > 1 else (steps,)
    for split in SPLITS:
        path = split_path(directory, split)
        stored = read_split(path, fix=fix)
        if stored.tokens.shape[1:] != shape or any(stored.metadata.get(k) != v for k, v in expected.items()):
            raise DatasetError(f"{path} was written in another format ({stored.metadata}); {fix}")
        out.append(SequenceSplit(torch.from_numpy(stored.tokens), torch.from_numpy(stored.labels)))
    return out[0], out[1], out[2]
