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
    assert [len(y) for _, y, _ in batches] == [10] * 10 + [3]
    seen = torch.cat([y for _, y, _ in batches])
    assert sorted(seen.tolist()) == list(range(103))
    assert not torch.equal(seen, torch.arange(103))
    for x, y, lengths in batches:
        assert lengths is None
        assert x.dtype == torch.uint8 and x.shape == (len(y), 4)
        assert torch.equal(x, split.tokens[y])  # tokens stay paired with their labels


def test_unshuffled_is_in_order() -> None:
    split = _split()
    seen = torch.cat([y for _, y, _ in iterate_batches(split, 16, shuffle=False)])
    assert torch.equal(seen, torch.arange(103))


def test_seeded_generator_is_deterministic() -> None:
    split = _split()

    def order(seed: int) -> list[int]:
        gen = torch.Generator().manual_seed(seed)
        return torch.cat([y for _, y, _ in iterate_batches(split, 8, shuffle=True, generator=gen)]).tolist()

    assert order(3) == order(3)
    assert order(3) != order(4)


def test_drop_last() -> None:
    split = _split()
    for shuffle in (False, True):
        sizes = [len(y) for _, y, _ in iterate_batches(split, 10, shuffle=shuffle, drop_last=True)]
        assert sizes == [10] * 10
    assert list(iterate_batches(_split(5), 10, shuffle=False, drop_last=True)) == []


def test_variable_length_batches_keep_lengths_aligned_and_cut_padding() -> None:
    lengths = torch.tensor([3, 7, 2, 5, 1, 6])
    tokens = torch.zeros((6, 9), dtype=torch.uint8)
    for row, length in enumerate(lengths.tolist()):
        tokens[row, :length] = row + 1  # each row's real tokens carry its index
    split = SequenceSplit(tokens, torch.arange(6), lengths)
    batches = list(iterate_batches(split, 4, shuffle=True, generator=torch.Generator().manual_seed(0)))
    for x, y, got in batches:
        assert torch.equal(got, lengths[y])
        assert x.shape[1] == int(got.max())  # cut to the batch's longest example, never shorter
        for row in range(len(y)):
            assert (x[row, : got[row]] == y[row] + 1).all() and (x[row, got[row] :] == 0).all()
    assert sorted(torch.cat([y for _, y, _ in batches]).tolist()) == list(range(6))


def test_shards_split_every_global_batch_between_workers() -> None:
    split = SequenceSplit(torch.arange(40, dtype=torch.uint8)[:, None], torch.arange(40))

    def epoch(rank: int, world: int, batch: int) -> list[list[int]]:
        gen = torch.Generator().manual_seed(3)
        return [
            y.tolist() for _, y, _ in iterate_batches(split, batch, shuffle=True, generator=gen, shard=(rank, world))
        ]

    single = epoch(0, 1, 8)
    first, second = epoch(0, 2, 8), epoch(1, 2, 8)
    assert len(first) == len(second) == len(single)  # the same number of steps on every worker
    for whole, a, b in zip(single, first, second):
        assert sorted(a + b) == sorted(whole) and len(a) == len(b) == 4
    unshuffled = [y for r in range(3) for _, y, _ in iterate_batches(split, 8, shuffle=False, shard=(r, 3))]
    assert sorted(torch.cat(unshuffled).tolist()) == list(range(40))  # evaluation keeps every example
