"""`study.train` on every kind of dataset: real loaders from official-format fixtures, stand-ins, synthetic."""

from __future__ import annotations

import json
import os

import pytest

from data import default_data_dir
from data.prepare import main as prepare
from study.train import main as train
from tests.data.image_fixtures import cifar_batches, dogs_lists, write_cifar_tarball, write_dogs_source
from tests.data.text_dbpedia_fixture import write_tarball as write_dbpedia_tarball

SMALL = ["--set", "aux.segment_len=20", "--set", "aux.truncation=20", "--set", "train.truncation=20",
         "--set", "data.batch_size=8", "--set", "model.d_hidden=16", "--set", "aux.decoder_units=16"]  # fmt: skip


def _run(tmp_path, data_dir, *overrides):
    out = tmp_path / "run"
    argv = ["--out", str(out), "--data-dir", str(data_dir), "--smoke-test", *SMALL]
    for item in overrides:
        argv += ["--set", item]
    assert train(argv) == 0
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.parametrize("kind", ["r_lstm", "p_lstm"])
def test_cifar10_from_an_official_format_tarball(kind, tmp_path):
    data_dir = tmp_path / "data"
    tarball = write_cifar_tarball(tmp_path / "cifar-10-python.tar.gz", cifar_batches(per_batch=6))
    assert prepare(["cifar10", "--data-dir", str(data_dir), "--source", str(tarball)]) == 0
    metrics = _run(tmp_path, data_dir, "data.name=cifar10", f"model.kind={kind}", "data.image_size=8")
    assert metrics["epochs"] == 2 and 0 <= metrics["test_accuracy"] <= 1


def test_stanford_dogs_from_official_archives(tmp_path):
    data_dir = tmp_path / "data"
    source = write_dogs_source(tmp_path / "dogs", dogs_lists(), layout="tar")
    assert prepare(["stanford_dogs", "--data-dir", str(data_dir), "--source", str(source)]) == 0
    metrics = _run(tmp_path, data_dir, "data.name=stanford_dogs", "data.image_size=8")
    assert metrics["epochs"] == 2


def test_dbpedia_from_an_official_format_tarball(tmp_path):
    data_dir = tmp_path / "data"
    tarball = write_dbpedia_tarball(tmp_path / "dbpedia_csv.tar.gz")
    assert prepare(["dbpedia", "--data-dir", str(data_dir), "--source", str(tarball)]) == 0
    metrics = _run(tmp_path, data_dir, "data.name=dbpedia", "data.max_len=200", "aux.segment_len=10")
    assert metrics["epochs"] == 2


@pytest.mark.parametrize(
    "overrides",
    [
        ("data.name=wordnet",),
        ("data.name=reviews", "data.max_len=400"),
        ("data.name=synthetic", "data.seq_len=60"),
        ("data.name=fashion_mnist", "data.image_size=7"),
        ("data.name=mnist_long", "data.image_size=64"),
    ],
    ids=["wordnet", "reviews", "synthetic", "fashion_mnist", "mnist_long"],
)
def test_offline_datasets_train_end_to_end(overrides, tmp_path):
    data_dir = default_data_dir(os.environ.get("AUXLSTM_DATA_DIR"))
    metrics = _run(tmp_path, data_dir, *overrides)
    assert 0 <= metrics["test_accuracy"] <= 1
