"""Every registry entry loads with tiny limits and has the shapes, dtypes, classes and lengths it declares.

Entries whose official files cannot be had where the project is tested load from fixtures in the official
formats; the others from the real files (prepared by `make test`)."""

from __future__ import annotations

import os

import pytest
import torch

from data import DATASETS, default_data_dir, load_dataset
from data.config import DataConfig
from tests.data.image_fixtures import cifar_batches, dogs_lists, write_cifar_tarball, write_dogs_source
from tests.data.text_dbpedia_fixture import write_tarball as write_dbpedia_tarball

FIXTURES = {
    "cifar10": lambda tmp: write_cifar_tarball(tmp / "cifar-10-python.tar.gz", cifar_batches(per_batch=6)),
    "stanford_dogs": lambda tmp: write_dogs_source(tmp / "dogs", dogs_lists(), layout="tar"),
    "dbpedia": lambda tmp: write_dbpedia_tarball(tmp / "dbpedia_csv.tar.gz"),
}
SETTINGS = {  # what each entry needs to be small (or, for dbpedia, to have a known longest example)
    "cifar10": {"image_size": 8}, "stanford_dogs": {"image_size": 8}, "mnist_long": {"image_size": 32},
    "mnist": {"image_size": 14}, "pmnist": {"image_size": 14}, "fashion_mnist": {"image_size": 7},
    "dbpedia": {"max_len": 200}, "reviews": {"max_len": 400}, "synthetic": {"seq_len": 30},
}  # fmt: skip
LIMIT_TRAIN, LIMIT_EVAL = 12, 6


@pytest.mark.parametrize("name", sorted(DATASETS))
def test_registry_entry_loads_as_it_declares(name, tmp_path):
    info = DATASETS[name]
    cfg = DataConfig(name=name, limit_train=LIMIT_TRAIN, limit_eval=LIMIT_EVAL, **SETTINGS.get(name, {}))
    if name in FIXTURES:
        data_dir = tmp_path / "data"
        info.prepare(data_dir, FIXTURES[name](tmp_path))
    else:
        data_dir = default_data_dir(os.environ.get("AUXLSTM_DATA_DIR"))
    dataset = load_dataset(cfg, data_dir)
    steps = info.max_steps(cfg)
    assert (dataset.name, dataset.num_classes, dataset.channels) == (name, info.num_classes, info.channels)
    assert dataset.seq_len <= steps and dataset.vocab_size <= 256
    for split, limit in ((dataset.train, LIMIT_TRAIN), (dataset.val, LIMIT_EVAL), (dataset.test, LIMIT_EVAL)):
        n, width = len(split), split.tokens.shape[1]
        assert 0 < n <= limit
        assert split.tokens.dtype == torch.uint8 and split.tokens.shape[0] == n
        assert split.tokens.shape[2:] == (() if info.channels == 1 else (info.channels,))
        assert split.labels.dtype == torch.int64 and split.labels.shape == (n,)
        assert 0 <= int(split.labels.min()) and int(split.labels.max()) < info.num_classes
        assert int(split.tokens.max()) < dataset.vocab_size
        if split.lengths is None:  # fixed length: exactly what the config check assumed
            assert width == dataset.seq_len == steps
        else:  # text: right-padded
            assert split.lengths.dtype == torch.int64 and int(split.lengths.min()) >= 1
            assert int(split.lengths.max()) <= width <= dataset.seq_len
