"""CLI: what a dataset holds, e.g. `python -m data.info wordnet`: counts, lengths, class balance, checksums.

Prepares the dataset first if needed (as training would).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

import torch

from data.shadowing import refuse_shadowed

if TYPE_CHECKING:
    from data.config import DataConfig
    from data.splits import SequenceSplit


def _split_line(name: str, split: SequenceSplit, num_classes: int) -> str:
    lengths = split.lengths if split.lengths is not None else torch.full((len(split),), split.tokens.shape[1])
    counts = torch.bincount(split.labels, minlength=num_classes).tolist()
    length = f"{int(lengths.min())} / {int(lengths.float().median())} / {int(lengths.max())}" if len(split) else "-"
    return f"  {name:<5} {len(split):>9,}  {length:>21}  {counts}"


def describe(name: str, cfg: DataConfig, data_dir) -> str:
    from data.parquet_io import read_metadata
    from data.registry import get_info, load_dataset

    info = get_info(name)
    prepared = info.prepare(data_dir, None)
    dataset = load_dataset(cfg, data_dir)
    lines = [
        f"{name}: {info.description}",
        f"  kind: {info.kind}",
        f"  source: {info.source}",
        f"  licence: {info.licence}",
        f"  steps: {info.lengths}; {dataset.channels} token(s) per step, {dataset.vocab_size} values each, "
        f"{dataset.num_classes} classes",
        f"  files: {prepared}",
        "  split  examples  length min/median/max  examples per class",
    ]
    lines += [_split_line(s, getattr(dataset, s), dataset.num_classes) for s in ("train", "val", "test")]
    for path in sorted(prepared.rglob("*.parquet")) if prepared.is_dir() else []:
        meta = read_metadata(path) or {}
        sums = {k: v for k, v in meta.items() if "sha256" in k or "md5" in k or "checksum" in k}
        lines.append(f"  {path.relative_to(prepared)}: " + ", ".join(f"{k} {v}" for k, v in sums.items()))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    refuse_shadowed("auxlstm-data-info")
    from data.config import DataConfig
    from data.errors import DatasetError
    from data.registry import DATASETS
    from data.storage import default_data_dir

    parser = argparse.ArgumentParser(prog="python -m data.info", description=__doc__.splitlines()[0])
    parser.add_argument("name", help=f"dataset name, one of: {', '.join(sorted(DATASETS))}")
    parser.add_argument("--data-dir", default=None, help="default: $AUXLSTM_DATA_DIR, else ~/.cache/auxlstm")
    parser.add_argument("--image-size", type=int, default=None, help="images: side after resizing")
    parser.add_argument("--seq-len", type=int, default=None, help="synthetic tasks: steps per sequence")
    parser.add_argument("--max-len", type=int, default=None, help="text: keep the first N characters")
    args = parser.parse_args(argv)
    cfg = DataConfig(name=args.name, image_size=args.image_size, seq_len=args.seq_len, max_len=args.max_len)
    try:
        print(describe(args.name, cfg, default_data_dir(args.data_dir)))
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
