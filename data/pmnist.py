"""Permuted MNIST: MNIST with one fixed pixel permutation per image side, stored next to the data."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import torch

from data import mnist
from data.config import DataConfig
from data.errors import DatasetError
from data.files import atomic_target, ensure_dir
from data.splits import Dataset, SequenceSplit

# Independent of any training seed: every run and every seed sees the same permutation.
PERMUTATION_SEED = 2018_0228


def permutation_path(data_dir: pathlib.Path, side: int) -> pathlib.Path:
    return mnist.mnist_dir(data_dir) / f"pmnist_permutation_{side}.npy"


def make_permutation(side: int) -> np.ndarray:
    """The pMNIST permutation of side*side pixels, regenerated from the constant seed."""
    return np.random.default_rng(PERMUTATION_SEED).permutation(side * side).astype(np.int64)


def load_permutation(data_dir: pathlib.Path, side: int) -> np.ndarray:
    """Load the stored permutation for `side`, writing it atomically on first use."""
    path = permutation_path(data_dir, side)
    if not path.is_file():
        ensure_dir(path.parent)
        with atomic_target(path) as tmp, open(tmp, "wb") as f:
            np.save(f, make_permutation(side), allow_pickle=False)
    fix = f"delete it; the next load or `python -m data.prepare pmnist --data-dir {data_dir}` rewrites it"
    try:
        perm = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise DatasetError(f"cannot read {path} ({exc}); {fix}") from exc
    n = side * side
    if (
        perm.shape != (n,)
        or not np.issubdtype(perm.dtype, np.integer)
        or not np.array_equal(np.sort(perm), np.arange(n))
    ):
        raise DatasetError(f"{path} is not a permutation of {n} pixels; {fix}")
    return perm.astype(np.int64)


def prepare_pmnist(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """Prepare MNIST and the permutation for the native 28x28 side."""
    out = mnist.prepare_mnist(data_dir, source)
    load_permutation(data_dir, mnist.SIDE)
    return out


def load_pmnist(data_dir: pathlib.Path, cfg: DataConfig) -> Dataset:
    """MNIST as configured, with the pixels of every (resized) image permuted the same way."""
    dataset = mnist.load_mnist(data_dir, cfg)
    perm = torch.from_numpy(load_permutation(data_dir, cfg.image_size or mnist.SIDE))
    permuted = (
        SequenceSplit(s.tokens.index_select(1, perm), s.labels) for s in (dataset.train, dataset.val, dataset.test)
    )
    return dataclasses.replace(dataset, **dict(zip(("train", "val", "test"), permuted)))


INFO = dataclasses.replace(
    mnist.INFO,
    name="pmnist",
    description="permuted MNIST: one fixed pixel permutation (constant seed) applied after resizing",
    prepare=prepare_pmnist,
    load=load_pmnist,
)
