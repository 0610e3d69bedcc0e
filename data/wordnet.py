"""WordNet 3.0 noun glosses as a character-level stand-in for DBpedia: "lemma, lemma: gloss", 14 semantic classes.

Source: Debian's wordnet-base (/usr/share/wordnet/data.noun). The label is the synset's lexicographer category,
keeping the 14 largest (labels 0..13 by size, descending); an md5 of the synset offset picks the split (8:1:1).
"""

from __future__ import annotations

import collections
import functools
import pathlib

from data.catalog import DatasetInfo
from data.errors import DatasetError
from data.files import file_digest
from data.text import capped_steps, is_prepared, load_prepared, split_by_md5, text_metadata, write_text_splits

FORMAT_VERSION = "1"
NAME = "wordnet"
DEFAULT_SOURCE = pathlib.Path("/usr/share/wordnet")
FILE = "data.noun"
NUM_CLASSES = 14
SPLIT_SIZES = (58_812, 7_367, 7_243)
MAX_CHARS = 605  # longest "lemmas: gloss" of the 14 classes (measured on wordnet-base 1:3.0-37)
# Lexicographer file numbers 0..44 (WordNet's lexnames); data.noun only uses the noun.* ones (3..28).
LEXNAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute noun.body noun.cognition "
    "noun.communication noun.event noun.feeling noun.food noun.group noun.location noun.motive noun.object "
    "noun.person noun.phenomenon noun.plant noun.possession noun.process noun.quantity noun.relation noun.shape "
    "noun.state noun.substance noun.time"
).split()

_INSTALL = (
    "install it with `apt-get install wordnet-base` (Debian/Ubuntu), or pass a directory holding data.noun: "
    "`python -m data.prepare wordnet --source DIR`"
)


def wordnet_dir(data_dir: pathlib.Path) -> pathlib.Path:
    """Directory of the prepared WordNet splits."""
    return data_dir / NAME


def find_data_noun(source: pathlib.Path | None) -> pathlib.Path:
    """data.noun inside `source` (a directory, or the file itself), else in Debian's location."""
    base = DEFAULT_SOURCE if source is None else source
    path = base if base.is_file() else base / FILE
    if not path.is_file():
        raise DatasetError(f"WordNet's {path} does not exist; {_INSTALL}")
    return path


def read_glosses(path: pathlib.Path) -> list[tuple[str, str, str]]:
    """(synset offset, "lemma, lemma: gloss", lexicographer name) for every synset in data.noun."""
    rows = []
    fix = "reinstall wordnet-base or pass another --source"
    try:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, start=1):
                if line.startswith("  "):  # the licence header
                    continue
                try:
                    rows.append(_parse_line(line))
                except (ValueError, IndexError) as exc:
                    raise DatasetError(f"{path}, line {number}: not a WordNet data line ({exc}); {fix}") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"cannot read {path} ({exc}); {fix}") from exc
    return rows


def _parse_line(line: str) -> tuple[str, str, str]:
    # synset_offset lex_filenum ss_type w_cnt (word lex_id){w_cnt} p_cnt ... | gloss
    head, gloss = line.rstrip("\n").split(" | ", 1)
    fields = head.split(" ")
    count = int(fields[3], 16)  # w_cnt is two hex digits
    lemmas = [fields[4 + 2 * i].replace("_", " ") for i in range(count)]
    if not lemmas:
        raise ValueError("no lemmas")
    return fields[0], ", ".join(lemmas) + ": " + gloss.strip(), LEXNAMES[int(fields[1])]


def class_names(rows: list[tuple[str, str, str]]) -> list[str]:
    """The NUM_CLASSES largest categories, by size descending (ties by name); label = index."""
    counts = collections.Counter(lexname for _, _, lexname in rows)
    ranked = sorted(counts, key=lambda name: (-counts[name], name))
    return ranked[:NUM_CLASSES]


def prepare_wordnet(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """Convert data.noun to Parquet unless already done; a given `source` is rebuilt from when it differs.

    Without `source`, prepared files in the current format are kept as they are (load_dataset calls this on every
    load, and they may come from an earlier --source).
    """
    out = wordnet_dir(data_dir)
    if source is None and is_prepared(out, FORMAT_VERSION, None):
        return out
    path = find_data_noun(source)
    sha256 = file_digest(path)
    if is_prepared(out, FORMAT_VERSION, sha256):
        return out
    rows = read_glosses(path)
    names = class_names(rows)
    if len(names) < NUM_CLASSES:
        raise DatasetError(f"{path} has only {len(names)} noun categories; reinstall wordnet-base")
    label_of = {name: label for label, name in enumerate(names)}
    splits = split_by_md5((offset, text, label_of[lexname]) for offset, text, lexname in rows if lexname in label_of)
    classes = [n.removeprefix("noun.") for n in names]
    write_text_splits(out, splits, text_metadata(NAME, classes, str(path), sha256, FORMAT_VERSION), path)
    return out


# (data_dir, cfg) -> the prepared splits under cfg (max_len, limit_train, limit_eval).
load_wordnet = functools.partial(load_prepared, NAME, format_version=FORMAT_VERSION, num_classes=NUM_CLASSES)
max_steps = functools.partial(capped_steps, MAX_CHARS)  # cfg -> characters of the longest gloss (no IO)


INFO = DatasetInfo(
    name=NAME,
    description=(
        "WordNet 3.0 noun glosses ('lemma, lemma: gloss'), read character by character, in the 14 largest "
        "lexicographer categories (imbalanced: artifact 11,587 … body 2,016); md5 split of synset offsets 8:1:1"
    ),
    kind="stand-in for dbpedia",
    source=f"Debian package wordnet-base (1:3.0-37), {DEFAULT_SOURCE / FILE}, or --source DIR",
    licence="WordNet 3.0 licence (Princeton University; permissive, BSD-like, keep the copyright notice)",
    num_classes=NUM_CLASSES,
    channels=1,
    lengths="14–605 characters (median 88)",
    split_sizes=SPLIT_SIZES,
    max_steps=max_steps,
    prepare=prepare_wordnet,
    load=load_wordnet,
    local_copy="a folder with data.noun",
    variable_length=True,
)
