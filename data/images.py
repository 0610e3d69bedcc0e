"""Helpers shared by the image datasets: split files, held-out validation, verified downloads and resizing."""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Mapping

import numpy as np
import torch

from data.config import DataConfig
from data.errors import DatasetError
from data.files import download_verified, ensure_dir
from data.parquet_io import read_metadata, read_split, write_split
from data.splits import Dataset, SequenceSplit
from data.transforms import limit_eval, limit_train, resize_tokens

SPLITS = ("train", "val", "test")
PIXEL_VOCAB = 256  # token values per channel
_RESIZE_VALUES = 1 << 24  # output pixels per resize call: bounds the float32 working memory to ~64 MiB
_DOWNLOAD_TIMEOUT_S = 60


def split_path(directory: pathlib.Path, split: str) -> pathlib.Path:
    return directory / f"{split}.parquet"


def is_prepared(directory: pathlib.Path, expected: Mapping[str, str]) -> bool:
    """True when all three split files exist and their metadata holds every `expected` item (footers only)."""
    for split in SPLITS:
        meta = read_metadata(split_path(directory, split))
        if meta is None or any(meta.get(key) != value for key, value in expected.items()):
            return False
    return True


def write_splits(
    directory: pathlib.Path, splits: Mapping[str, tuple[np.ndarray, np.ndarray]], metadata: Mapping[str, str]
) -> pathlib.Path:
    """Write {split: (tokens uint8, labels)} to directory/SPLIT.parquet, each file atomically."""
    ensure_dir(directory)
    for split, (tokens, labels) in splits.items():
        write_split(split_path(directory, split), tokens, labels, {**metadata, "split": split})
    return directory


def read_splits(
    directory: pathlib.Path, fix: str, expected: Mapping[str, str], steps: int, channels: int
) -> tuple[SequenceSplit, SequenceSplit, SequenceSplit]:
    """Read the three splits, refusing files of another format, length or channel count."""
    out = []
    for split in SPLITS:
        path = split_path(directory, split)
        stored = read_split(path, fix=fix)
        shape = (steps, channels) if channels > 1 else (steps,)
        if stored.tokens.shape[1:] != shape or any(stored.metadata.get(k) != v for k, v in expected.items()):
            raise DatasetError(f"{path} was written in another format ({stored.metadata}); {fix}")
        out.append(SequenceSplit(torch.from_numpy(stored.tokens), torch.from_numpy(stored.labels)))
    return out[0], out[1], out[2]


def hold_out(n: int, n_val: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val) of a fixed seeded split of n examples, each sorted to keep the source order."""
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def resize_pixels(tokens: torch.Tensor, side: int, new_side: int) -> torch.Tensor:
    """Resize (N, side², [C]) uint8 raster images to new_side (area down, bilinear up), in memory-bounded chunks."""
    if new_side == side:
        return tokens
    if tokens.ndim == 3:
        # Channels become separate grey images so that resize_tokens serves RGB too.
        n, steps, channels = tokens.shape
        planar = tokens.permute(0, 2, 1).reshape(n * channels, steps)
        return resize_pixels(planar, side, new_side).view(n, channels, -1).permute(0, 2, 1).contiguous()
    rows = max(1, _RESIZE_VALUES // max(side, new_side) ** 2)
    parts = [resize_tokens(tokens[i : i + rows], side, new_side) for i in range(0, tokens.shape[0], rows)]
    return torch.cat(parts) if parts else resize_tokens(tokens, side, new_side)


def finish(
    splits: tuple[SequenceSplit, SequenceSplit, SequenceSplit],
    cfg: DataConfig,
    side: int,
    num_classes: int,
    channels: int,
) -> Dataset:
    """Apply limit_train / limit_eval first (less to resize), then resize to cfg.image_size."""
    train, val, test = splits
    train = limit_train(train, cfg.limit_train)
    val, test = limit_eval(val, cfg.limit_eval), limit_eval(test, cfg.limit_eval)
    new_side = cfg.image_size or side
    train, val, test = (SequenceSplit(resize_pixels(s.tokens, side, new_side), s.labels) for s in (train, val, test))
    return Dataset(
        name=cfg.name, train=train, val=val, test=test, vocab_size=PIXEL_VOCAB, num_classes=num_classes,
        seq_len=new_side**2, channels=channels,
    )  # fmt: skip


def file_digest(path: pathlib.Path, algorithm: str) -> str:
    """Hex digest ("md5" or "sha256") of a file, read in chunks."""
    digest = hashlib.new(algorithm, usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: pathlib.Path, algorithm: str, expected: str, fix: str) -> None:
    """Raise DatasetError naming `path` and `fix` unless the file has the expected digest."""
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise DatasetError(
            f"{path} has {algorithm} {actual}, expected {expected} (corrupt, truncated or a different file); {fix}"
        )


def download(url: str, target: pathlib.Path, algorithm: str, expected: str, fix: str) -> pathlib.Path:
    """Fetch `url` to `target` (via a temporary name), verified against the pinned digest before the rename."""
    ensure_dir(target.parent)

    def check(tmp: pathlib.Path, digest: str) -> None:
        if digest != expected:
            raise DatasetError(
                f"{url} sent a file with {algorithm} {digest}, expected {expected}; nothing was kept at {target}; {fix}"
            )

    try:
        download_verified(url, target, check, algorithm, timeout=_DOWNLOAD_TIMEOUT_S)
    except OSError as exc:  # urllib's URLError and socket timeouts are OSErrors
        raise DatasetError(f"could not download {url} to {target} ({exc}); {fix}") from exc
    return target
