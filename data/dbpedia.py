"""DBpedia ontology classification (Zhang et al. 2015): "title: abstract" read character by character, 14 classes.

Source: dbpedia_csv.tar.gz (members dbpedia_csv/train.csv, test.csv, classes.txt), given as the tarball or the
extracted folder, else downloaded from fast.ai's mirror. The official 560,000 / 70,000 split is kept; validation
is a fixed seeded 5% of the official training rows (the rest is train).
"""

from __future__ import annotations

import csv
import functools
import io
import pathlib
import tarfile

import numpy as np

from data.catalog import DatasetInfo
from data.config import DataConfig
from data.errors import DatasetError
from data.files import combined_digest, download, file_digest
from data.text import is_prepared, load_prepared, text_metadata, write_text_splits
from data.transforms import hold_out

FORMAT_VERSION = "1"
NAME = "dbpedia"
URL = "https://s3.amazonaws.com/fast-ai-nlp/dbpedia_csv.tgz"
ARCHIVE_NAME = "dbpedia_csv.tgz"  # the mirror's name; the original is dbpedia_csv.tar.gz (also found in downloads/)
ORIGINAL_NAME = "dbpedia_csv.tar.gz"
FOLDER = "dbpedia_csv"
MEMBERS = ("train.csv", "test.csv", "classes.txt")
NUM_CLASSES = 14
OFFICIAL_ROWS = {"train.csv": 560_000, "test.csv": 70_000}
VAL_FRACTION = 0.05
VAL_SEED = 2015_0909  # fixed: every run holds out the same rows
SPLIT_SIZES = (532_000, 28_000, 70_000)
CLASS_FIELDS = frozenset(str(k) for k in range(1, NUM_CLASSES + 1))  # the CSV's 1-based class column


def dbpedia_dir(data_dir: pathlib.Path) -> pathlib.Path:
    """Directory of the prepared DBpedia splits."""
    return data_dir / NAME


def _manual(data_dir: pathlib.Path) -> str:
    return (
        f"download {ORIGINAL_NAME} (Zhang et al. 2015; e.g. {URL}) and save it as "
        f"{data_dir / 'downloads' / ARCHIVE_NAME}, or pass the tarball or its extracted folder with "
        "`python -m data.prepare dbpedia --source PATH`"
    )


def holdout(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted indices (train, val) of the official training rows: val is a fixed seeded VAL_FRACTION of them."""
    return hold_out(n, round(n * VAL_FRACTION), VAL_SEED)


def download_archive(url: str, target: pathlib.Path, fix: str) -> pathlib.Path:
    """Fetch the archive; it must be a .tar.gz holding the official members before it is renamed into place."""
    damaged = f"the download from {url} is damaged; retry"
    return download(url, target, fix, check=lambda tmp: _read_archive(tmp, damaged))


def ensure_source(data_dir: pathlib.Path, source: pathlib.Path | None) -> tuple[pathlib.Path, bool]:
    """(tarball or folder to read, whether it is the copy in downloads/, which must be the official dataset)."""
    if source is not None:
        if source.is_dir():
            return _folder(source, _manual(data_dir)), False
        if not source.is_file():
            raise DatasetError(f"{source} does not exist; {_manual(data_dir)}")
        return source, False
    downloads = data_dir / "downloads"
    for name in (ARCHIVE_NAME, ORIGINAL_NAME):
        if (downloads / name).is_file():
            return downloads / name, True
    return download_archive(URL, downloads / ARCHIVE_NAME, _manual(data_dir)), True


def source_sha256(path: pathlib.Path) -> str:
    """sha256 of the tarball, or for a folder the sha256 of its three members' sha256s."""
    if path.is_file():
        return file_digest(path)
    return combined_digest(file_digest(path / m) for m in MEMBERS)


def _folder(path: pathlib.Path, fix: str) -> pathlib.Path:
    # Either the extracted dbpedia_csv/ itself or a folder that holds it.
    for folder in (path, path / FOLDER):
        if all((folder / m).is_file() for m in MEMBERS):
            return folder
    raise DatasetError(f"{path} holds neither {', '.join(MEMBERS)} nor {FOLDER}/ with them; {fix}")


def _read_archive(path: pathlib.Path, fix: str) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    try:
        # Streaming mode reads the 68 MB archive once, without the seeks of random access.
        with tarfile.open(path, "r|gz") as archive:
            for member in archive:
                name = member.name.removeprefix("./").removeprefix(f"{FOLDER}/")
                if name in MEMBERS and member.isfile():
                    found[name] = archive.extractfile(member).read()  # type: ignore[union-attr]
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise DatasetError(f"{path} is not a readable .tar.gz ({exc}); {fix}") from exc
    missing = [m for m in MEMBERS if m not in found]
    if missing:
        raise DatasetError(f"{path} lacks {', '.join(f'{FOLDER}/{m}' for m in missing)}; {fix}")
    return found


def read_members(path: pathlib.Path, fix: str) -> dict[str, bytes]:
    """The raw bytes of train.csv, test.csv and classes.txt from a tarball or an extracted folder."""
    if path.is_file():
        return _read_archive(path, fix)
    try:
        return {m: (_folder(path, fix) / m).read_bytes() for m in MEMBERS}
    except OSError as exc:
        raise DatasetError(f"cannot read {path} ({exc}); {fix}") from exc


def parse_rows(path: pathlib.Path, member: str, payload: bytes, fix: str) -> tuple[list[str], np.ndarray]:
    """Texts "title: abstract" and 0-based labels of one CSV member (`class,"title","abstract"`)."""
    where = f"{path}: {FOLDER}/{member}"
    try:
        table = list(csv.reader(io.StringIO(payload.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{where} is not a UTF-8 CSV file ({exc}); {fix}") from exc
    texts, labels = [], np.empty(len(table), dtype=np.int64)
    for number, row in enumerate(table, start=1):
        if len(row) != 3 or row[0] not in CLASS_FIELDS:
            raise DatasetError(f'{where} row {number} is not `class (1-14),"title","abstract"`; {fix}')
        labels[number - 1] = int(row[0]) - 1
        texts.append(f"{row[1].strip()}: {row[2].strip()}")  # abstracts start with a space
    return texts, labels


def parse_classes(path: pathlib.Path, payload: bytes, fix: str) -> list[str]:
    """The 14 class names of classes.txt, in label order."""
    try:
        names = [line.strip() for line in payload.decode("utf-8").splitlines() if line.strip()]
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: {FOLDER}/classes.txt is not UTF-8 text ({exc}); {fix}") from exc
    if len(names) != NUM_CLASSES:
        raise DatasetError(f"{path}: {FOLDER}/classes.txt lists {len(names)} classes, expected {NUM_CLASSES}; {fix}")
    return names


def prepare_dbpedia(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """Convert the official CSVs to Parquet unless the prepared files already come from the same source."""
    out = dbpedia_dir(data_dir)
    if source is None and is_prepared(out, FORMAT_VERSION, None):
        return out  # load_dataset calls this on every load: never re-hash the archive then
    path, downloaded = ensure_source(data_dir, source)
    sha256 = source_sha256(path)
    if is_prepared(out, FORMAT_VERSION, sha256):
        return out
    fix = "delete it and re-run `python -m data.prepare dbpedia`" if downloaded else _manual(data_dir)
    raw = read_members(path, fix)
    names = parse_classes(path, raw["classes.txt"], fix)
    (train_texts, train_labels), (test_texts, test_labels) = (
        parse_rows(path, m, raw.pop(m), fix) for m in ("train.csv", "test.csv")
    )
    if downloaded:  # a download must be the official dataset; a --source may be a subset
        for member, rows in (("train.csv", len(train_texts)), ("test.csv", len(test_texts))):
            if rows != OFFICIAL_ROWS[member]:
                raise DatasetError(f"{path}: {member} has {rows} rows, expected {OFFICIAL_ROWS[member]}; {fix}")
    train, val = holdout(len(train_texts))
    splits = {
        "train": ([train_texts[i] for i in train], train_labels[train]),
        "val": ([train_texts[i] for i in val], train_labels[val]),
        "test": (test_texts, test_labels),
    }
    val_rule = f"seeded {VAL_FRACTION:.0%} of the official train rows (seed {VAL_SEED})"
    write_text_splits(out, splits, text_metadata(NAME, names, str(path), sha256, FORMAT_VERSION, val=val_rule), path)
    return out


# (data_dir, cfg) -> the prepared splits under cfg (max_len, limit_train, limit_eval).
load_dbpedia = functools.partial(load_prepared, NAME, format_version=FORMAT_VERSION, num_classes=NUM_CLASSES)


def max_steps(cfg: DataConfig) -> int:
    """cfg.max_len (no IO). The longest DBpedia example was never measured (no copy of the data where this was
    written), so there is no constant to cap: without data.max_len this raises instead of guessing."""
    if cfg.max_len is None:
        raise DatasetError(
            "dbpedia: the longest example's length is not recorded in data/dbpedia.py; set data.max_len "
            "to bound the sequence length"
        )
    return cfg.max_len


INFO = DatasetInfo(
    name=NAME,
    description=(
        "DBpedia ontology classification (Zhang et al. 2015), 'title: abstract' read character by character; "
        "official test split, validation a fixed seeded 5% of the official training rows"
    ),
    kind="real",
    source=f"dbpedia_csv.tar.gz of Zhang et al. 2015 (downloaded from {URL}, or --source tarball/folder)",
    licence="CC BY-SA 3.0 and GFDL (DBpedia / Wikipedia)",
    num_classes=NUM_CLASSES,
    channels=1,
    lengths="title + abstract, a few hundred characters on average (the longest was not measured here)",
    split_sizes=SPLIT_SIZES,
    max_steps=max_steps,
    prepare=prepare_dbpedia,
    load=load_dbpedia,
    local_copy="the dbpedia_csv tarball or folder",
    variable_length=True,
)
