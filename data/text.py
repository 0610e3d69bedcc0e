"""Character-level text: vocabulary, encoding to uint8 ids, md5 splits, max_len, and the stored text splits.

Every text dataset stores three Parquet splits (variable-length rows) whose metadata holds the vocabulary as JSON,
so that loading never rebuilds it. Token id 0 is padding, 1 stands for characters outside the vocabulary.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import torch

from data.config import DataConfig
from data.errors import DatasetError
from data.files import ensure_dir
from data.parquet_io import pad_ragged, read_split, write_ragged_split
from data.splits import Dataset, SequenceSplit
from data.storage import SPLITS, reprepare, split_path
from data.storage import is_prepared as _splits_prepared
from data.transforms import apply_limits

PAD_ID = 0
UNK_ID = 1
SPECIALS = ("<pad>", "<unk>")
MAX_VOCAB = 256  # ids are stored as uint8
_CODE_POINTS = 0x110000
_CHUNK = 20_000  # texts per numpy conversion, to bound the utf-32 working memory


def _code_points(texts: Sequence[str]) -> np.ndarray:
    # utf-32 gives one fixed-width unit per character, so numpy can count and map characters without Python loops.
    return np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)


def _chunks(texts: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(texts), _CHUNK):
        yield texts[start : start + _CHUNK]


def build_vocab(texts: Sequence[str], max_size: int = MAX_VOCAB) -> tuple[str, ...]:
    """("<pad>", "<unk>", characters by descending count, ties by code point), at most `max_size` entries."""
    if not len(SPECIALS) <= max_size <= MAX_VOCAB:
        raise ValueError(f"max_size must be in [{len(SPECIALS)}, {MAX_VOCAB}], got {max_size}")
    counts = np.zeros(_CODE_POINTS, dtype=np.int64)
    for chunk in _chunks(texts):
        counts += np.bincount(_code_points(chunk), minlength=_CODE_POINTS)
    present = np.flatnonzero(counts)
    # lexsort sorts by the last key first: descending count, then ascending code point.
    order = present[np.lexsort((present, -counts[present]))]
    return SPECIALS + tuple(chr(c) for c in order[: max_size - len(SPECIALS)])


def vocab_problem(vocab: Sequence[str]) -> str | None:
    """What is wrong with a vocabulary (for example one read back from a file), or None when it is valid."""
    chars = vocab[len(SPECIALS) :]
    if tuple(vocab[: len(SPECIALS)]) != SPECIALS or len(vocab) > MAX_VOCAB:
        return f"a vocabulary starts with {SPECIALS} and has at most {MAX_VOCAB} entries"
    if any(not isinstance(c, str) or len(c) != 1 for c in chars) or len(set(chars)) != len(chars):
        return "vocabulary entries after the two specials must be distinct single characters"
    return None


def _lookup_table(vocab: Sequence[str]) -> np.ndarray:
    problem = vocab_problem(vocab)
    if problem:
        raise ValueError(problem)
    table = np.full(_CODE_POINTS, UNK_ID, dtype=np.uint8)
    codes = np.array([ord(c) for c in vocab[len(SPECIALS) :]], dtype=np.int64)
    table[codes] = np.arange(len(SPECIALS), len(vocab), dtype=np.uint8)
    return table


def encode_ragged(texts: Sequence[str], vocab: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The ids of all texts one after another ((sum of lengths,) uint8; unknown 1) and (N,) int64 lengths."""
    table = _lookup_table(vocab)
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    if len(texts) and lengths.min() < 1:
        raise ValueError(f"text {int(np.argmin(lengths))} is empty; every example needs at least one character")
    values = np.concatenate([table[_code_points(part)] for part in _chunks(texts)] or [np.zeros(0, np.uint8)])
    return values, lengths


def encode(texts: Sequence[str], vocab: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded (N, T_max) uint8 ids (pad 0, unknown 1) and (N,) int64 lengths in characters."""
    values, lengths = encode_ragged(texts, vocab)
    return pad_ragged(values, lengths, int(lengths.max(initial=0))), lengths


def decode(ids: torch.Tensor | np.ndarray | Sequence[int], vocab: Sequence[str], length: int | None = None) -> str:
    """The text of one row of ids (its first `length` ids; padding dropped); unknown ids read as "<unk>"."""
    row = ids if length is None else ids[:length]
    values = row.tolist() if isinstance(row, (torch.Tensor, np.ndarray)) else [int(i) for i in row]
    return "".join([vocab[i] for i in values if i != PAD_ID])


def md5_bucket(key: str) -> int:
    """0..9 from the md5 of `key`: a split that depends only on the example, never on order or a seed."""
    return int(hashlib.md5(key.encode("utf-8")).hexdigest(), 16) % 10


def split_of_bucket(bucket: int) -> str:
    """Buckets 0-7 train, 8 val, 9 test (8:1:1)."""
    return "train" if bucket < 8 else ("val" if bucket == 8 else "test")


def split_by_md5(rows: Iterable[tuple[str, str, int]]) -> dict[str, tuple[list[str], np.ndarray]]:
    """{split: (texts, int64 labels)} of (key, text, label) rows, each split chosen by the md5 of its key."""
    splits: dict[str, tuple[list[str], list[int]]] = {s: ([], []) for s in SPLITS}
    for key, text, label in rows:
        texts, labels = splits[split_of_bucket(md5_bucket(key))]
        texts.append(text)
        labels.append(label)
    return {s: (texts, np.asarray(labels, dtype=np.int64)) for s, (texts, labels) in splits.items()}


def truncate(split: SequenceSplit, max_len: int | None) -> SequenceSplit:
    """Keep the first `max_len` characters of each example; tokens are cut to the longest remaining length."""
    if split.lengths is None:
        raise ValueError("truncate needs a variable-length split with lengths")
    lengths = split.lengths if max_len is None else split.lengths.clamp(max=max_len)
    width = int(lengths.max()) if len(split) else 0
    if width == split.tokens.shape[1]:
        return SequenceSplit(split.tokens, split.labels, lengths)
    # contiguous() copies, so the untruncated tensor can be freed.
    return SequenceSplit(split.tokens[:, :width].contiguous(), split.labels, lengths)


def longest(splits: Iterable[SequenceSplit]) -> int:
    """The longest true length over the splits."""
    return max((int(s.lengths.max()) for s in splits if s.lengths is not None and len(s)), default=0)


def write_text_splits(
    out_dir: pathlib.Path,
    splits: Mapping[str, tuple[Sequence[str], np.ndarray]],
    metadata: Mapping[str, str],
    source: pathlib.Path,
) -> tuple[str, ...]:
    """Build the vocabulary from splits["train"], encode and write train/val/test; return the vocabulary.

    `metadata` (dataset, num_classes, source_sha256, format_version, ...) goes into every file, plus the split
    name and the vocabulary as JSON. Empty splits are refused naming `source`, which is too small or damaged.
    """
    ensure_dir(out_dir)
    for split in SPLITS:
        if not len(splits[split][0]):
            raise DatasetError(f"{source}: no examples fall into the {split} split (the file is too small or damaged)")
    vocab = build_vocab(splits["train"][0])
    for split in SPLITS:
        texts, labels = splits[split]
        values, lengths = encode_ragged(texts, vocab)  # never padded: DBpedia's longest text is ~10x its median
        meta = {**metadata, "split": split, "vocab": json.dumps(list(vocab), ensure_ascii=True)}
        write_ragged_split(split_path(out_dir, split), values, lengths, np.asarray(labels, dtype=np.int64), meta)
    return vocab


def text_metadata(
    name: str, classes: Sequence[str], source: str, source_sha256: str, format_version: str, **extra: str
) -> dict[str, str]:
    """The metadata every text dataset stores with its splits (write_text_splits adds the split and vocabulary)."""
    return {
        "dataset": name, "num_classes": str(len(classes)), "classes": json.dumps(list(classes)), "source": source,
        "source_sha256": source_sha256, **extra, "format_version": format_version,
    }  # fmt: skip


def is_prepared(out_dir: pathlib.Path, format_version: str, source_sha256: str | None) -> bool:
    """True when all three split files exist in `format_version` (and from `source_sha256`, when given)."""
    expected = {"format_version": format_version}
    if source_sha256 is not None:
        expected["source_sha256"] = source_sha256
    return _splits_prepared(out_dir, expected, present=("vocab",))


def load_text(out_dir: pathlib.Path, cfg: DataConfig, *, format_version: str, num_classes: int, fix: str) -> Dataset:
    """Read the prepared splits, keep the first cfg.max_len characters, then apply limit_train / limit_eval."""
    parts: list[SequenceSplit] = []
    vocab: tuple[str, ...] = ()
    for split in SPLITS:
        path = split_path(out_dir, split)
        stored = read_split(path, fix=fix)
        meta = stored.metadata
        if meta.get("format_version") != format_version or stored.lengths is None or "vocab" not in meta:
            version = meta.get("format_version")
            raise DatasetError(f"{path} was written in another format (format_version {version}); {fix}")
        split_vocab = _stored_vocab(path, meta["vocab"], fix)
        if vocab and split_vocab != vocab:
            raise DatasetError(f"{path} has a different vocabulary than the train split; {fix}")
        vocab = split_vocab
        if len(stored.labels) and (stored.labels.min() < 0 or stored.labels.max() >= num_classes):
            raise DatasetError(f"{path} has labels outside 0..{num_classes - 1}; {fix}")
        tokens, labels, lengths = (torch.from_numpy(a) for a in (stored.tokens, stored.labels, stored.lengths))
        parts.append(truncate(SequenceSplit(tokens, labels, lengths), cfg.max_len))
    seq_len = longest(parts)  # before the limits, so it equals the dataset's max_steps
    train, val, test = apply_limits((parts[0], parts[1], parts[2]), cfg)
    return Dataset(
        name=cfg.name, train=train, val=val, test=test, vocab_size=len(vocab), num_classes=num_classes,
        seq_len=seq_len, channels=1, vocab=vocab,
    )  # fmt: skip


def load_prepared(
    name: str, data_dir: pathlib.Path, cfg: DataConfig, *, format_version: str, num_classes: int
) -> Dataset:
    """Text dataset `name` as prepared under DATA_DIR/NAME/, read by load_text under cfg."""
    fix = reprepare(name, data_dir)
    return load_text(data_dir / name, cfg, format_version=format_version, num_classes=num_classes, fix=fix)


def _stored_vocab(path: pathlib.Path, raw: str, fix: str) -> tuple[str, ...]:
    try:
        vocab = json.loads(raw)
    except ValueError as exc:
        raise DatasetError(f"{path}: the stored vocabulary is not valid JSON ({exc}); {fix}") from exc
    problem = vocab_problem(vocab) if isinstance(vocab, list) else "the stored vocabulary is not a list"
    if problem:
        raise DatasetError(f"{path}: {problem}; {fix}")
    return tuple(vocab)


def capped_steps(longest_chars: int, cfg: DataConfig) -> int:
    """Steps of the longest example (a dataset constant) under cfg.max_len."""
    return longest_chars if cfg.max_len is None else min(longest_chars, cfg.max_len)
