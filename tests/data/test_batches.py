"""iterate_batches: coverage, sizes, determinism and drop_last."""

from __future__ import annotations

import torch

from data import SequenceSplit, iterate_batches


def _split(n: int = 103) -> SequenceSplit:
    tokens = (torch.arange(n * 4) % 256).to(torch.uint8).view(n, 4)
    return SequenceSplit(tokens, torch.arange(n, dtype=torch.int64))


def test_shuffled_epoch_covers_every_example_once() -> None:
    split = _split()
    batches = list(iterate_batches(split, 10, shuffle=True, generator=torch.Generator().manual_seed(0)))
    assert [len(y) for _, y in batches] == [10] * 10 + [3]
    seen = torch.cat([y for _, y in batches])
    assert sorted(seen.tolist()) == list(range(103))
    assert not torch.equal(seen, torch.arange(103))
    for x, y in batches:
        assert x.dtype == torch.uint8 and x.shape == (len(y), 4)
        assert torch.equal(x, split.tokens[y])  # tokens stay paired with their labels


def test_unshuffled_is_in_order() -> None:
    split = _split()
    seen = torch.cat([y for _, y in iterate_batches(split, 16, shuffle=False)])
    assert torch.equal(seen, torch.arange(103))


def test_seeded_generator_is_deterministic() -> None:
    split = _split()

    def order(seed: int) -> list[int]:
        gen = torch.Generator().manual_seed(seed)
        return torch.cat([y for _, y in iterate_batches(split, 8, shuffle=True, generator=gen)]).tolist()

    assert order(3) == order(3)
    assert order(3) != order(4)


def test_drop_last() -> None:
    split = _split()
    for shuffle in (False, True):
        sizes = [len(y) for _, y in iterate_batches(split, 10, shuffle=shuffle, drop_last=True)]
        assert sizes == [10] * 10
    assert list(iterate_batches(_split(5), 10, shuffle=False, drop_last=True)) == []
