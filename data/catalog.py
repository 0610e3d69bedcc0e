"""What the registry knows of a dataset before it is loaded, and the functions that prepare and load it."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from dataclasses import dataclass

from data.config import DataConfig
from data.splits import Dataset

Preparer = Callable[[pathlib.Path, pathlib.Path | None], pathlib.Path]  # (data_dir, local source) -> its files
Loader = Callable[[pathlib.Path, DataConfig], Dataset]  # (data_dir, cfg) -> limited, resized, ready to train


@dataclass(frozen=True)
class DatasetInfo:
    name: str  # its key in data.DATASETS (data.name)
    description: str
    kind: str  # "real", "synthetic", or "stand-in for NAME"
    source: str
    licence: str
    num_classes: int
    channels: int  # tokens per step: 3 for RGB pixels
    lengths: str  # sequence lengths, in words (for data.info and the README)
    split_sizes: tuple[int, int, int]  # train, val, test before any limit
    max_steps: Callable[[DataConfig], int]  # steps of the longest sequence under this config (validation)
    prepare: Preparer  # idempotent; `source` is a local copy of the official files, if given
    load: Loader
    local_copy: str = ""  # what `python -m data.prepare NAME --source PATH` takes ("": no files to give)
    variable_length: bool = False  # text: examples differ in length, so batches carry their lengths

    @property
    def stands_in_for(self) -> str | None:
        """The dataset this one replaces where that one cannot be had ('stand-in for cifar10' -> 'cifar10')."""
        prefix = "stand-in for "
        return self.kind.removeprefix(prefix) if self.kind.startswith(prefix) else None
