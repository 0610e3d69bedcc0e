"""Shared text helpers: vocabulary order and cap, encoding, max_len, padding, limits, and text Parquet storage."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest
import torch

from data import DatasetError, text
from data.config import DataConfig
from data.parquet_io import read_metadata
from data.splits import SequenceSplit
from data.storage import split_path
from data.text import PAD_ID, SPECIALS, UNK_ID, build_vocab, decode, encode
from data.transforms import limit_train
from tests.data.text_samples import SAMPLE_TEXTS, write_sample_dataset


def test_vocab_orders_by_count_then_code_point() -> None:
    vocab = build_vocab(["abcab", "cbz", "é"])
    # b:3, a:2, c:2 (a < c), then the singletons z < é by code point.
    assert vocab == (*SPECIALS, "b", "a", "c", "z", "é")


def test_vocab_cap_and_unknown_characters() -> None:
    texts = ["aaaa", "bbb", "cc", "d"]
    vocab = build_vocab(texts, max_size=4)
    assert vocab == (*SPECIALS, "a", "b")
    tokens, lengths = encode(["abcd?"], vocab)
    assert tokens.tolist() == [[2, 3, UNK_ID, UNK_ID, UNK_ID]] and lengths.tolist() == [5]
    assert decode(tokens[0], vocab) == "ab<unk><unk><unk>"


def test_default_cap_is_256_ids() -> None:
    many = "".join(chr(0x4E00 + i) for i in range(400))  # 400 distinct characters
    vocab = build_vocab(["x" * 10 + many])
    assert len(vocab) == 256 and vocab[2] == "x"
    assert vocab[-1] == chr(0x4E00 + 252)  # count ties: the lowest code points are kept
    tokens, _ = encode([chr(0x4E00 + 399)], vocab)
    assert tokens.tolist() == [[UNK_ID]]
    with pytest.raises(ValueError, match="max_size"):
        build_vocab(["a"], max_size=257)


def test_encode_decode_round_trip_with_padding() -> None:
    vocab = build_vocab(SAMPLE_TEXTS)
    tokens, lengths = encode(SAMPLE_TEXTS, vocab)
    assert tokens.dtype == np.uint8 and lengths.dtype == np.int64
    assert tokens.shape == (len(SAMPLE_TEXTS), max(map(len, SAMPLE_TEXTS)))
    assert lengths.tolist() == [len(t) for t in SAMPLE_TEXTS]
    for row, length, original in zip(tokens, lengths, SAMPLE_TEXTS):
        assert decode(row, vocab, int(length)) == original
        assert (row[:length] >= 2).all() and (row[length:] == PAD_ID).all()


def test_empty_text_is_refused() -> None:
    with pytest.raises(ValueError, match="text 1 is empty"):
        encode(["a", ""], (*SPECIALS, "a"))


def test_md5_split_is_fixed_and_about_8_1_1() -> None:
    assert [text.md5_bucket(k) for k in ("00001740", "00001740")] == [text.md5_bucket("00001740")] * 2
    buckets = np.bincount([text.md5_bucket(str(i)) for i in range(5000)], minlength=10)
    assert buckets.min() > 400 and buckets.max() < 600
    assert [text.split_of_bucket(b) for b in (0, 7, 8, 9)] == ["train", "train", "val", "test"]


def _split() -> tuple[SequenceSplit, tuple[str, ...]]:
    vocab = build_vocab(SAMPLE_TEXTS)
    tokens, lengths = encode(SAMPLE_TEXTS, vocab)
    labels = torch.arange(len(SAMPLE_TEXTS))  # label = row, to follow rows through subsets
    return SequenceSplit(torch.from_numpy(tokens), labels, torch.from_numpy(lengths)), vocab


def test_max_len_keeps_the_first_characters_and_exact_lengths() -> None:
    split, vocab = _split()
    cut = text.truncate(split, 5)
    assert cut.tokens.shape == (len(SAMPLE_TEXTS), 5)
    assert cut.lengths.tolist() == [min(len(t), 5) for t in SAMPLE_TEXTS]
    for row, length, original in zip(cut.tokens, cut.lengths, SAMPLE_TEXTS):
        assert decode(row, vocab, int(length)) == original[:5]
        assert (row[int(length) :] == PAD_ID).all()
    assert text.truncate(split, None).tokens is split.tokens
    assert text.truncate(split, 10_000).tokens.shape == split.tokens.shape


def test_limit_train_keeps_lengths_aligned_with_tokens() -> None:
    split, vocab = _split()
    subset = limit_train(split, 3)
    assert len(subset) == 3 and subset.lengths is not None
    for row, length, label in zip(subset.tokens, subset.lengths, subset.labels):
        assert int(length) == len(SAMPLE_TEXTS[int(label)])
        assert decode(row, vocab, int(length)) == SAMPLE_TEXTS[int(label)]
        assert (row[int(length) :] == PAD_ID).all()


def test_storage_round_trip_keeps_the_vocabulary(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = write_sample_dataset(tmp_path)
    assert text.is_prepared(out, "7", "abc") and not text.is_prepared(out, "8", "abc")
    assert not text.is_prepared(out, "7", "other checksum")
    meta = read_metadata(split_path(out, "val"))
    assert meta is not None and meta["split"] == "val" and meta["dataset"] == "sample"
    vocab = tuple(json.loads(meta["vocab"]))

    def no_rebuild(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("loading must not rebuild the vocabulary")

    monkeypatch.setattr(text, "build_vocab", no_rebuild)
    ds = text.load_text(out, DataConfig(name="sample", max_len=6), format_version="7", num_classes=3, fix="FIX")
    assert ds.vocab == vocab and ds.vocab_size == len(vocab) and ds.seq_len == 6
    assert ds.train.tokens.dtype == torch.uint8 and ds.train.labels.dtype == torch.int64
    texts = [decode(r, ds.vocab, int(n)) for r, n in zip(ds.train.tokens, ds.train.lengths)]
    assert texts == [t[:6] for t in SAMPLE_TEXTS[:4]]
    # "ß" occurs only in the test split, so it is unknown there.
    assert decode(ds.test.tokens[0], ds.vocab, int(ds.test.lengths[0])) == "Stra<unk>e"


def test_wrong_format_version_is_refused_naming_the_file(tmp_path: pathlib.Path) -> None:
    out = write_sample_dataset(tmp_path)
    with pytest.raises(DatasetError, match="FIX") as info:
        text.load_text(out, DataConfig(name="sample"), format_version="8", num_classes=3, fix="FIX")
    assert str(split_path(out, "train")) in str(info.value)


def test_labels_outside_the_classes_are_refused(tmp_path: pathlib.Path) -> None:
    out = write_sample_dataset(tmp_path)
    with pytest.raises(DatasetError, match=r"labels outside 0\.\.1"):
        text.load_text(out, DataConfig(name="sample"), format_version="7", num_classes=2, fix="FIX")
