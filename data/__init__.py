"""Datasets for the study: preparation to Parquet, loading as uint8 token sequences, and batching."""

from data.batches import iterate_batches
from data.errors import DatasetError
from data.registry import DATASETS, get_info, load_dataset
from data.splits import Dataset, SequenceSplit
from data.storage import default_data_dir

__all__ = [
    "DATASETS",
    "Dataset",
    "DatasetError",
    "SequenceSplit",
    "default_data_dir",
    "get_info",
    "iterate_batches",
    "load_dataset",
]
