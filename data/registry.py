"""The dataset registry: what each dataset is, how to prepare it, and load_dataset()."""

from __future__ import annotations

import pathlib

from data.catalog import DatasetInfo
from data.config import DataConfig
from data.errors import DatasetError
from data.image_registry import IMAGE_DATASETS
from data.paths import default_data_dir
from data.splits import Dataset, SequenceSplit
from data.text_registry import TEXT_DATASETS

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetError",
    "DatasetInfo",
    "SequenceSplit",
    "default_data_dir",
    "get_info",
    "load_dataset",
]

# Plain dicts, one per family of datasets; tests/data/test_registry.py checks every entry of the merged one.
DATASETS: dict[str, DatasetInfo] = {**IMAGE_DATASETS, **TEXT_DATASETS}


def get_info(name: str) -> DatasetInfo:
    """The registry entry for `name`, or DatasetError listing the valid names."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetError(
            f"unknown dataset {name!r} (data.name); valid names: {', '.join(sorted(DATASETS))}"
        ) from None


def load_dataset(cfg: DataConfig, data_dir: pathlib.Path) -> Dataset:
    """Prepare the dataset on first use (download + convert), then read it from Parquet."""
    info = get_info(cfg.name)
    _check_config(cfg)
    info.prepare(data_dir, None)
    return info.load(data_dir, cfg)


def _check_config(cfg: DataConfig) -> None:
    # Checked before any download so that a config typo fails fast.
    if cfg.image_size is not None and cfg.image_size < 2:
        raise DatasetError(f"data.image_size must be at least 2, got {cfg.image_size}; fix the config")
    for field, value in (
        ("limit_train", cfg.limit_train),
        ("limit_eval", cfg.limit_eval),
        ("seq_len", cfg.seq_len),
        ("max_len", cfg.max_len),
    ):
        if value is not None and value < 1:
            raise DatasetError(f"data.{field} must be null or at least 1, got {value}; fix the config")
