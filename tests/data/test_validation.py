"""`data.validation: none`: the validation examples join the training split, for every kind of dataset."""

from __future__ import annotations

import dataclasses

import torch

from data import load_dataset
from data.config import DataConfig
from data.splits import SequenceSplit, concat
from data.transforms import apply_limits


def test_without_a_hold_out_the_validation_examples_train_and_the_test_split_is_untouched(tmp_path):
    cfg = DataConfig(name="synthetic", seq_len=20)
    held = load_dataset(cfg, tmp_path)
    merged = load_dataset(dataclasses.replace(cfg, validation="none"), tmp_path)
    assert (len(merged.train), len(merged.val)) == (len(held.train) + len(held.val), 0)
    assert torch.equal(merged.train.tokens, torch.cat([held.train.tokens, held.val.tokens]))
    assert torch.equal(merged.test.tokens, held.test.tokens)


def test_limit_train_draws_from_the_merged_split_and_limit_eval_only_cuts_the_test_split():
    def split(n, offset):
        return SequenceSplit(torch.arange(offset, offset + n)[:, None].repeat(1, 3), torch.zeros(n, dtype=torch.long))

    train, val, test = split(6, 0), split(4, 100), split(5, 200)
    cfg = DataConfig(limit_train=10, limit_eval=2, validation="none")
    limited = apply_limits((train, val, test), cfg)
    assert sorted(limited[0].tokens[:, 0].tolist()) == [0, 1, 2, 3, 4, 5, 100, 101, 102, 103]
    assert len(limited[1]) == 0 and limited[2].tokens[:, 0].tolist() == [200, 201]


def test_variable_length_splits_are_padded_to_the_longer_width():
    short = SequenceSplit(torch.tensor([[1, 2]]), torch.tensor([0]), torch.tensor([2]))
    long = SequenceSplit(torch.tensor([[3, 4, 5, 0]]), torch.tensor([1]), torch.tensor([3]))
    both = concat(short, long)
    assert both.tokens.tolist() == [[1, 2, 0, 0], [3, 4, 5, 0]]
    assert both.lengths.tolist() == [2, 3] and both.labels.tolist() == [0, 1]
