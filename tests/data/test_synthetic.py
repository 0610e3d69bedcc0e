"""The synthetic long-range task: deterministic, the label only in the first token, distractors independent."""

from __future__ import annotations

import pathlib

import torch

from data import DATASETS
from data.config import DataConfig
from data.synthetic import load_synthetic, prepare_synthetic


def test_deterministic_shapes_and_balanced_labels(tmp_path: pathlib.Path) -> None:
    cfg = DataConfig(name="synthetic")
    assert prepare_synthetic(tmp_path, None) == tmp_path and list(tmp_path.iterdir()) == []
    first, second = load_synthetic(tmp_path, cfg), load_synthetic(tmp_path, cfg)
    assert (len(first.train), len(first.val), len(first.test)) == (10_000, 1_000, 1_000)
    assert (first.seq_len, first.vocab_size, first.num_classes, first.channels) == (1000, 26, 10, 1)
    assert first.train.tokens.shape == (10_000, 1000) and first.train.tokens.dtype == torch.uint8
    for a, b in ((first.train, second.train), (first.test, second.test)):
        assert torch.equal(a.tokens, b.tokens) and torch.equal(a.labels, b.labels)
    assert not torch.equal(first.val.tokens, first.test.tokens)  # splits are drawn separately
    assert torch.bincount(first.train.labels, minlength=10).tolist() == [1000] * 10


def test_label_is_the_first_token_and_distractors_ignore_it(tmp_path: pathlib.Path) -> None:
    ds = load_synthetic(tmp_path, DataConfig(name="synthetic"))
    tokens, labels = ds.train.tokens.to(torch.int64), ds.train.labels
    assert torch.equal(tokens[:, 0] - 16, labels)
    assert int(tokens[:, 1:].max()) == 15 and int(tokens[:, 1:].min()) == 0
    # Per class, the distractor histogram is uniform (about 62k per value; 2% is many standard deviations).
    for label in range(10):
        counts = torch.bincount(tokens[labels == label, 1:].reshape(-1), minlength=16).to(torch.float64)
        assert counts.numel() == 16
        assert float((counts / counts.mean() - 1).abs().max()) < 0.02
    # Nor does any single step depend on it: per class and step, the mean distractor stays near 7.5 (sd 0.15).
    means = torch.stack([tokens[labels == label, 1:].to(torch.float64).mean(dim=0) for label in range(10)])
    assert means.shape == (10, 999) and float((means - 7.5).abs().max()) < 1.0


def test_length_follows_seq_len_and_limits_apply(tmp_path: pathlib.Path) -> None:
    short = load_synthetic(tmp_path, DataConfig(name="synthetic", seq_len=50, limit_train=100, limit_eval=20))
    long = load_synthetic(tmp_path, DataConfig(name="synthetic", seq_len=3000, limit_train=100, limit_eval=20))
    assert short.seq_len == 50 and short.train.tokens.shape == (100, 50) and short.test.tokens.shape == (20, 50)
    assert long.seq_len == 3000 and long.train.tokens.shape == (100, 3000)
    info = DATASETS["synthetic"]
    assert info.max_steps(DataConfig()) == 1000 and info.max_steps(DataConfig(seq_len=3000)) == 3000


def test_fixed_length_registry_keys() -> None:
    fixed_length = {name: info for name, info in DATASETS.items() if not info.variable_length}
    assert set(fixed_length) == {
        "mnist",
        "pmnist",
        "fashion_mnist",
        "cifar10",
        "stanford_dogs",
        "mnist_long",
        "synthetic",
    }
    for info in fixed_length.values():
        assert info.description and info.source and info.licence and info.lengths
        assert info.kind in ("real", "synthetic") or info.kind.startswith("stand-in for ")
