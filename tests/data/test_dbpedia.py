"""DBpedia from a tiny tarball in the official layout: parsing, labels, val hold-out, vocabulary cap, refusals."""

from __future__ import annotations

import os
import pathlib
import urllib.request

import pytest
import torch

from data import DATASETS, Dataset, DatasetError, dbpedia, text
from data.config import DataConfig
from data.splits import SequenceSplit
from data.storage import split_path
from tests.data import text_dbpedia_fixture as fx


@pytest.fixture()
def tarball(tmp_path: pathlib.Path) -> pathlib.Path:
    return fx.write_tarball(tmp_path / "dbpedia_csv.tar.gz")


@pytest.fixture()
def prepared(tmp_path: pathlib.Path, tarball: pathlib.Path) -> tuple[pathlib.Path, Dataset]:
    data_dir = tmp_path / "data"
    dbpedia.prepare_dbpedia(data_dir, tarball)
    return data_dir, dbpedia.load_dbpedia(data_dir, DataConfig(name="dbpedia"))


def _decoded(split: SequenceSplit, vocab: tuple[str, ...]) -> list[str]:
    return [text.decode(row, vocab, int(n)) for row, n in zip(split.tokens, split.lengths)]


def _as_seen(original: str, vocab: tuple[str, ...]) -> str:
    known = set(vocab)
    return "".join(c if c in known else "<unk>" for c in original)


def test_texts_labels_and_lengths(prepared: tuple[pathlib.Path, Dataset]) -> None:
    _, ds = prepared
    train_rows, test_rows = fx.expected_texts()
    held_out = set(dbpedia.holdout(fx.TRAIN_ROWS)[1].tolist())
    expected = {
        "train": [r for i, r in enumerate(train_rows) if i not in held_out],
        "val": [r for i, r in enumerate(train_rows) if i in held_out],
        "test": test_rows,
    }
    assert (len(ds.train), len(ds.val), len(ds.test)) == (38, 2, 4) and ds.num_classes == 14
    for name, rows in expected.items():
        split = getattr(ds, name)
        assert split.labels.tolist() == [label for label, _ in rows]
        assert split.lengths.tolist() == [len(t) for _, t in rows]
        assert _decoded(split, ds.vocab) == [_as_seen(t, ds.vocab) for _, t in rows]
    assert _decoded(ds.test, ds.vocab)[1] == 'The "Tower", Inc.: A tall building, 300 m high.'
    assert _decoded(ds.train, ds.vocab)[0] == (
        'Zürich "Old" Town, No. 0: A café, "naïve" résumé, number 0; the quick brown fox jumps over the lazy dog - '
        "SPHINX OF BLACK QUARTZ, JUDGE MY VOW."
    )
    assert ds.seq_len == max(len(t) for _, t in train_rows + test_rows)


def test_val_and_test_only_characters_map_to_unk(prepared: tuple[pathlib.Path, Dataset]) -> None:
    _, ds = prepared
    assert fx.VAL_ONLY not in ds.vocab and fx.TEST_ONLY not in ds.vocab
    val_texts = _decoded(ds.val, ds.vocab)
    held = [i for i, t in enumerate(val_texts) if "<unk>" in t]
    assert len(held) == 1 and val_texts[held[0]].endswith("VOW. <unk>")
    assert int(ds.val.tokens[held[0], int(ds.val.lengths[held[0]]) - 1]) == text.UNK_ID
    row = ds.test.tokens[0, : int(ds.test.lengths[0])]
    assert _decoded(ds.test, ds.vocab)[0] == "Stra<unk>e Company: A firm on the <unk>-street, founded 1900."
    assert (row == text.UNK_ID).sum() == 2  # both "ß"


def test_vocabulary_cap_is_applied(prepared: tuple[pathlib.Path, Dataset]) -> None:
    _, ds = prepared
    assert len(ds.vocab) == ds.vocab_size == 256
    assert fx.CJK[0] in ds.vocab and fx.CJK[-1] not in ds.vocab  # count ties keep the lowest code points
    assert int(ds.train.tokens.max()) == 255
    wide = next(i for i, t in enumerate(_decoded(ds.train, ds.vocab)) if fx.CJK[0] in t)
    tokens = ds.train.tokens[wide, : int(ds.train.lengths[wide])]
    assert int((tokens == text.UNK_ID).sum()) == sum(c not in ds.vocab for c in fx.CJK)


def test_extracted_folder_gives_the_same_dataset(
    tmp_path: pathlib.Path, prepared: tuple[pathlib.Path, Dataset]
) -> None:
    _, ds = prepared
    folder = fx.write_folder(tmp_path / "extracted")
    for source in (folder, folder.parent):
        data_dir = tmp_path / f"from-{source.name}"
        dbpedia.prepare_dbpedia(data_dir, source)
        other = dbpedia.load_dbpedia(data_dir, DataConfig(name="dbpedia"))
        assert other.vocab == ds.vocab
        assert torch.equal(other.train.tokens, ds.train.tokens) and torch.equal(other.test.labels, ds.test.labels)


def test_prepare_is_idempotent_and_max_len_applies(
    prepared: tuple[pathlib.Path, Dataset], tarball: pathlib.Path
) -> None:
    data_dir, ds = prepared
    train = split_path(dbpedia.dbpedia_dir(data_dir), "train")
    stamp = os.stat(train).st_mtime_ns
    dbpedia.prepare_dbpedia(data_dir, tarball)
    dbpedia.prepare_dbpedia(data_dir)
    assert os.stat(train).st_mtime_ns == stamp
    cfg = DataConfig(name="dbpedia", max_len=12, limit_train=5, limit_eval=1)
    short = dbpedia.load_dbpedia(data_dir, cfg)
    assert short.seq_len == 12 == DATASETS["dbpedia"].max_steps(cfg)
    assert (len(short.train), len(short.val), len(short.test)) == (5, 1, 1)
    assert torch.equal(short.test.tokens, ds.test.tokens[:1, :12])
    with pytest.raises(DatasetError, match=r"data\.max_len"):
        dbpedia.max_steps(DataConfig(name="dbpedia"))


def test_corrupt_tarball_is_refused_naming_it(tmp_path: pathlib.Path, tarball: pathlib.Path) -> None:
    payload = tarball.read_bytes()
    tarball.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(DatasetError, match=r"not a readable \.tar\.gz.*--source PATH") as info:
        dbpedia.prepare_dbpedia(tmp_path / "data", tarball)
    assert str(tarball) in str(info.value)
    assert not dbpedia.dbpedia_dir(tmp_path / "data").exists()


def test_bad_csv_row_is_refused_naming_member_and_row(tmp_path: pathlib.Path) -> None:
    folder = fx.write_folder(tmp_path)
    with open(folder / "test.csv", "a", encoding="utf-8") as f:
        f.write('15,"Title","class 15 does not exist"\n')
    with pytest.raises(DatasetError, match=r"dbpedia_csv/test\.csv row 5 ") as info:
        dbpedia.prepare_dbpedia(tmp_path / "data", folder)
    assert str(folder) in str(info.value)


def test_missing_dataset_says_where_to_put_it(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(url: str, *args: object, **kwargs: object) -> None:
        raise OSError(f"cannot reach {url}")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    data_dir = tmp_path / "data"
    with pytest.raises(DatasetError, match="cannot reach") as info:
        dbpedia.prepare_dbpedia(data_dir)
    message = str(info.value)
    assert str(data_dir / "downloads" / "dbpedia_csv.tgz") in message and "--source PATH" in message
    with pytest.raises(DatasetError, match="does not exist"):
        dbpedia.prepare_dbpedia(data_dir, tmp_path / "nowhere.tar.gz")


def test_download_is_verified_before_use(tmp_path: pathlib.Path, tarball: pathlib.Path) -> None:
    target = tmp_path / "data" / "downloads" / dbpedia.ARCHIVE_NAME
    target.parent.mkdir(parents=True)
    broken = tmp_path / "broken.tgz"
    broken.write_bytes(b"not a tarball")
    with pytest.raises(DatasetError, match="not a readable"):
        dbpedia.download_archive(broken.as_uri(), target, "FIX")
    assert list(target.parent.iterdir()) == []  # nothing half-written is left
    dbpedia.download_archive(tarball.as_uri(), target, "FIX")  # file:// stands in for the mirror
    assert target.read_bytes() == tarball.read_bytes()
    # A download must be the official dataset: the tiny copy is refused by its row counts.
    with pytest.raises(DatasetError, match=r"has 40 rows, expected 560000; delete it"):
        dbpedia.prepare_dbpedia(tmp_path / "data")
