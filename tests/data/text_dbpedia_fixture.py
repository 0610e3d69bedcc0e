"""A tiny dbpedia_csv.tar.gz in the official layout: quoted fields with quotes and commas, non-ASCII text,
characters that occur only in val or test, and more distinct training characters than the vocabulary holds."""

from __future__ import annotations

import csv
import io
import pathlib
import tarfile

from data import dbpedia

CLASSES = [f"Class{k}" for k in range(1, 15)]
TRAIN_ROWS = 40
VAL_ONLY = "Ω"  # in one held-out training row only
TEST_ONLY = "ß"  # in one test row only
WIDE_ROW = 5  # a training row with 300 distinct CJK characters, to overflow the 256-id vocabulary
PANGRAMS = "the quick brown fox jumps over the lazy dog - SPHINX OF BLACK QUARTZ, JUDGE MY VOW."
CJK = "".join(chr(0x4E00 + i) for i in range(300))


def _train_rows() -> list[tuple[int, str, str]]:
    held_out = set(dbpedia.holdout(TRAIN_ROWS)[1].tolist())
    assert WIDE_ROW not in held_out
    rows = []
    for i in range(TRAIN_ROWS):
        title = f'Zürich "Old" Town, No. {i}' if i % 3 == 0 else f"Entity {i}"
        # A pangram in both cases: every letter of the test rows also occurs in train.
        abstract = f' A café, "naïve" résumé, number {i}; {PANGRAMS} '
        if i == WIDE_ROW:
            abstract += CJK
        if i == min(held_out):
            abstract += VAL_ONLY
        rows.append((i % 14 + 1, title, abstract))
    return rows


TEST_ROWS = [
    (1, "Straße Company", f" A firm on the {TEST_ONLY}-street, founded 1900. "),
    (7, 'The "Tower", Inc.', " A tall building, 300 m high. "),
    (14, "Book", " A written work."),
    (2, "School", " An educational institution, in Zürich."),
]


def expected_texts() -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """(label 0..13, "title: abstract") of the official train rows and of the test rows."""
    make = lambda rows: [(k - 1, f"{t.strip()}: {a.strip()}") for k, t, a in rows]  # noqa: E731
    return make(_train_rows()), make(TEST_ROWS)


def _csv(rows: list[tuple[int, str, str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def member_bytes() -> dict[str, bytes]:
    return {
        "classes.txt": ("\n".join(CLASSES) + "\n").encode(),
        "train.csv": _csv(_train_rows()),
        "test.csv": _csv(TEST_ROWS),
    }


def write_tarball(path: pathlib.Path) -> pathlib.Path:
    """dbpedia_csv/{classes.txt,train.csv,test.csv} as a .tar.gz at `path`."""
    with tarfile.open(path, "w:gz") as archive:
        for name, payload in member_bytes().items():
            info = tarfile.TarInfo(f"{dbpedia.FOLDER}/{name}")
            info.size = len(payload)
            archive.addfile(info, io.BytesIO(payload))
    return path


def write_folder(parent: pathlib.Path) -> pathlib.Path:
    """The extracted layout: parent/dbpedia_csv/{classes.txt,train.csv,test.csv}."""
    folder = parent / dbpedia.FOLDER
    folder.mkdir(parents=True)
    for name, payload in member_bytes().items():
        (folder / name).write_bytes(payload)
    return folder
