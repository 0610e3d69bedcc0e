"""WordNet noun glosses from the real wordnet-base package: split sizes, classes, lengths, decoding and preparation."""

from __future__ import annotations

import json
import os
import pathlib

import pytest
import torch

from data import DATASETS, Dataset, DatasetError, default_data_dir, text, wordnet
from data.config import DataConfig
from data.parquet_io import read_metadata
from data.storage import split_path

CLASS_SIZES = {
    "artifact": 11587, "person": 11087, "plant": 8030, "animal": 7509, "act": 6650, "communication": 5607,
    "state": 3544, "location": 3209, "attribute": 3039, "substance": 2983, "cognition": 2964, "group": 2624,
    "food": 2573, "body": 2016,
}  # fmt: skip
DOG = (
    "dog, domestic dog, Canis familiaris: a member of the genus Canis (probably descended from the common wolf) "
    'that has been domesticated by man since prehistoric times; occurs in many breeds; "the dog barked all night"'
)
COMPUTER = (
    "computer, computing machine, computing device, data processor, electronic computer, information processing "
    "system: a machine for performing calculations automatically"
)


@pytest.fixture(scope="session")
def wordnet_data_dir() -> pathlib.Path:
    path = default_data_dir()
    wordnet.prepare_wordnet(path)
    return path


@pytest.fixture(scope="session")
def glosses(wordnet_data_dir: pathlib.Path) -> Dataset:
    return wordnet.load_wordnet(wordnet_data_dir, DataConfig(name="wordnet"))


def _texts(ds: Dataset, split: str) -> list[str]:
    part = getattr(ds, split)
    return [text.decode(row, ds.vocab, int(n)) for row, n in zip(part.tokens, part.lengths)]


def test_split_sizes_vocabulary_and_lengths(glosses: Dataset) -> None:
    assert (len(glosses.train), len(glosses.val), len(glosses.test)) == (58_812, 7_367, 7_243)
    assert (len(glosses.train), len(glosses.val), len(glosses.test)) == DATASETS["wordnet"].split_sizes
    assert glosses.num_classes == 14 and glosses.vocab_size == 2 + 91  # pad, unk and the 91 characters
    assert glosses.vocab[:5] == ("<pad>", "<unk>", " ", "e", "a")
    lengths = torch.cat([glosses.train.lengths, glosses.val.lengths, glosses.test.lengths])
    assert (int(lengths.min()), int(lengths.median()), int(lengths.max())) == (14, 88, 605)
    assert glosses.seq_len == 605 == wordnet.max_steps(DataConfig())
    assert glosses.train.tokens.dtype == torch.uint8 and glosses.train.tokens.shape == (58_812, 605)
    # Every character of val/test also occurs in train: no unknowns in this dataset.
    assert not any((s.tokens == text.UNK_ID).any() for s in (glosses.train, glosses.val, glosses.test))


def test_classes_are_the_14_largest_by_size(glosses: Dataset, wordnet_data_dir: pathlib.Path) -> None:
    labels = torch.cat([glosses.train.labels, glosses.val.labels, glosses.test.labels])
    assert torch.bincount(labels).tolist() == list(CLASS_SIZES.values())
    meta = read_metadata(split_path(wordnet.wordnet_dir(wordnet_data_dir), "train"))
    assert meta is not None and json.loads(meta["classes"]) == list(CLASS_SIZES)
    assert meta["format_version"] == wordnet.FORMAT_VERSION and meta["num_classes"] == "14"


def test_known_glosses_decode_exactly(glosses: Dataset) -> None:
    train, val = _texts(glosses, "train"), _texts(glosses, "val")
    assert train[0] == 'thing: an action; "how could you do such a thing?"' and int(glosses.train.labels[0]) == 4
    assert int(glosses.train.labels[train.index(DOG)]) == 3  # animal
    assert int(glosses.train.labels[train.index("sprog: a child")]) == 1  # person
    assert int(glosses.val.labels[val.index(COMPUTER)]) == 0  # artifact


def test_max_len_and_limits(wordnet_data_dir: pathlib.Path, glosses: Dataset) -> None:
    cfg = DataConfig(name="wordnet", max_len=40, limit_train=500, limit_eval=100)
    small = wordnet.load_wordnet(wordnet_data_dir, cfg)
    assert (len(small.train), len(small.val), len(small.test)) == (500, 100, 100)
    assert small.seq_len == 40 == DATASETS["wordnet"].max_steps(cfg)
    assert small.train.tokens.shape[1] == 40 and int(small.test.lengths.max()) == 40
    assert torch.equal(small.val.lengths, glosses.val.lengths[:100].clamp(max=40))
    assert torch.equal(small.val.tokens, glosses.val.tokens[:100, :40])


def test_prepare_from_source_is_idempotent_and_rebuilds_on_a_new_format(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = wordnet.prepare_wordnet(tmp_path, wordnet.DEFAULT_SOURCE)
    train = split_path(out, "train")
    stamp = os.stat(train).st_mtime_ns
    assert wordnet.prepare_wordnet(tmp_path, wordnet.DEFAULT_SOURCE) == out
    assert wordnet.prepare_wordnet(tmp_path) == out
    assert os.stat(train).st_mtime_ns == stamp
    monkeypatch.setattr(wordnet, "FORMAT_VERSION", "test-next")
    wordnet.prepare_wordnet(tmp_path)
    meta = read_metadata(train)
    assert meta is not None and meta["format_version"] == "test-next"


def test_missing_package_names_the_fix(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wordnet, "DEFAULT_SOURCE", tmp_path / "no-wordnet")
    with pytest.raises(DatasetError, match=r"apt-get install wordnet-base.*--source DIR") as info:
        wordnet.prepare_wordnet(tmp_path / "data")
    assert str(tmp_path / "no-wordnet" / "data.noun") in str(info.value)
    with pytest.raises(DatasetError, match="apt-get install wordnet-base"):
        wordnet.prepare_wordnet(tmp_path / "data", tmp_path / "elsewhere")


def test_damaged_data_line_is_refused_naming_file_and_line(tmp_path: pathlib.Path) -> None:
    good = "  1 licence header\n02084071 05 n 02 dog 0 hot_dog 1 000 | a member of the genus Canis  \n"
    (tmp_path / "data.noun").write_text(good)
    assert wordnet.read_glosses(tmp_path / "data.noun") == [
        ("02084071", "dog, hot dog: a member of the genus Canis", "noun.animal")
    ]
    (tmp_path / "data.noun").write_text(good + "02084072 05 n 01 cat\n")
    with pytest.raises(DatasetError, match=r"data\.noun, line 3") as info:
        wordnet.prepare_wordnet(tmp_path / "data", tmp_path)
    assert str(tmp_path / "data.noun") in str(info.value)
