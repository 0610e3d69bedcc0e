"""Permuted MNIST: one fixed, stored permutation applied after resizing."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import torch

from data import Dataset, DatasetError, load_dataset
from data.config import DataConfig
from data.pmnist import load_permutation, make_permutation, permutation_path


def test_permutation_is_fixed_and_stored(data_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    first, second = load_permutation(data_dir, 28), load_permutation(data_dir, 28)
    assert permutation_path(data_dir, 28).is_file()
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, make_permutation(28))
    np.testing.assert_array_equal(np.sort(first), np.arange(784))
    assert not np.array_equal(first, np.arange(784))
    np.testing.assert_array_equal(load_permutation(tmp_path, 28), first)  # fresh directory, same permutation


def test_pmnist_is_mnist_with_columns_permuted(data_dir: pathlib.Path, mnist: Dataset) -> None:
    pm = load_dataset(DataConfig(name="pmnist"), data_dir)
    perm = torch.from_numpy(load_permutation(data_dir, 28))
    assert (pm.seq_len, pm.vocab_size, pm.num_classes) == (784, 256, 10)
    assert torch.equal(pm.train.tokens, mnist.train.tokens[:, perm])
    assert torch.equal(pm.test.tokens, mnist.test.tokens[:, perm])
    assert torch.equal(pm.val.labels, mnist.val.labels)


def test_permutation_is_applied_after_resizing(data_dir: pathlib.Path) -> None:
    cfg = DataConfig(name="pmnist", image_size=14, limit_train=200, limit_eval=100)
    pm = load_dataset(cfg, data_dir)
    plain = load_dataset(DataConfig(image_size=14, limit_train=200, limit_eval=100), data_dir)
    perm = torch.from_numpy(load_permutation(data_dir, 14))
    assert perm.shape == (196,)
    assert torch.equal(pm.train.tokens, plain.train.tokens[:, perm])


def test_damaged_permutation_is_refused(tmp_path: pathlib.Path) -> None:
    path = permutation_path(tmp_path, 28)
    path.parent.mkdir(parents=True)
    np.save(path, np.zeros(784, dtype=np.int64))
    with pytest.raises(DatasetError, match="not a permutation") as info:
        load_permutation(tmp_path, 28)
    assert str(path) in str(info.value)
