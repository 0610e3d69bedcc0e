"""A synthetic long-range task: the label is the first token, followed by uniformly random distractors.

Token 0 is 16 + label; tokens 1..T-1 are drawn uniformly from 0..15, independently of the label, so only a memory
of the first step solves it and truncated backpropagation alone cannot learn to keep that memory. The data is
generated in memory from a fixed seed and the length (data.seq_len, default 1,000): nothing is stored.
"""

from __future__ import annotations

import pathlib

import numpy as np
import torch

from data.config import DataConfig
from data.splits import Dataset, SequenceSplit
from data.transforms import limit_eval, limit_train

DEFAULT_SEQ_LEN = 1_000
NUM_CLASSES = 10
DISTRACTORS = 16  # distractor tokens 0..15; label markers 16..25
VOCAB_SIZE = DISTRACTORS + NUM_CLASSES
SPLIT_SIZES = (10_000, 1_000, 1_000)
SEED = 2018_0303  # fixed: every run and training seed sees the same sequences


def generate(split_index: int, n: int, seq_len: int) -> tuple[np.ndarray, np.ndarray]:
    """(tokens (n, seq_len) uint8, labels (n,) int64) of one split: balanced labels, deterministic."""
    rng = np.random.default_rng([SEED, split_index, seq_len])
    labels = rng.permutation(np.arange(n) % NUM_CLASSES).astype(np.int64)
    tokens = rng.integers(0, DISTRACTORS, size=(n, seq_len), dtype=np.uint8)
    tokens[:, 0] = DISTRACTORS + labels
    return tokens, labels


def max_steps(cfg: DataConfig) -> int:
    return cfg.seq_len or DEFAULT_SEQ_LEN


def prepare_synthetic(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """Nothing to prepare: the data is generated at load time."""
    return data_dir


def load_synthetic(data_dir: pathlib.Path, cfg: DataConfig) -> Dataset:
    """The three splits for cfg.seq_len, then limit_train / limit_eval (data.image_size does not apply)."""
    seq_len = max_steps(cfg)
    train, val, test = (
        SequenceSplit(*(torch.from_numpy(a) for a in generate(i, n, seq_len))) for i, n in enumerate(SPLIT_SIZES)
    )
    return Dataset(
        name=cfg.name,
        train=limit_train(train, cfg.limit_train),
        val=limit_eval(val, cfg.limit_eval),
        test=limit_eval(test, cfg.limit_eval),
        vocab_size=VOCAB_SIZE,
        num_classes=NUM_CLASSES,
        seq_len=seq_len,
    )
