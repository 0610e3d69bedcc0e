"""Small texts (non-ASCII, a non-BMP character, quotes, a newline) and a tiny prepared text dataset for the tests."""

from __future__ import annotations

import pathlib

import numpy as np

from data import text

SAMPLE_TEXTS = ("Hello, world", "naïve café: Straight", "日本語 text 🙂", "a", 'quote "x", y\nnext')


def write_sample_dataset(tmp_path: pathlib.Path) -> pathlib.Path:
    """Train = the first four samples, val = the fifth, test = "Straße" (its "ß" is unknown); format_version 7."""
    splits = {
        "train": (SAMPLE_TEXTS[:4], np.array([0, 1, 2, 0])),
        "val": (SAMPLE_TEXTS[4:], np.array([1])),
        "test": (("Straße",), np.array([2])),
    }
    meta = {"dataset": "sample", "num_classes": "3", "source_sha256": "abc", "format_version": "7"}
    out = tmp_path / "sample"
    out.mkdir()
    text.write_text_splits(out, splits, meta, tmp_path / "source")
    return out
