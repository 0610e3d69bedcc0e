"""CLI: prepare a dataset under the data directory, e.g. `python -m data.prepare mnist --data-dir DIR`."""

from __future__ import annotations

import argparse
import pathlib
import sys

from data.shadowing import refuse_shadowed


def source_help() -> str:
    """What --source takes, from the registry: datasets that take the same local copy share one clause."""
    from data.registry import DATASETS

    takes: dict[str, list[str]] = {}
    for name, info in DATASETS.items():
        if info.local_copy:
            takes.setdefault(info.local_copy, []).append(name)
    return "local copy of the official files: " + "; ".join(f"{'/'.join(n)} {what}" for what, n in takes.items())


def main(argv: list[str] | None = None) -> int:
    refuse_shadowed("auxlstm-prepare")
    from data.errors import DatasetError
    from data.registry import DATASETS, get_info
    from data.storage import default_data_dir

    parser = argparse.ArgumentParser(prog="python -m data.prepare", description=__doc__)
    parser.add_argument("name", help=f"dataset name, one of: {', '.join(sorted(DATASETS))}")
    parser.add_argument("--data-dir", default=None, help="default: $AUXLSTM_DATA_DIR, else ~/.cache/auxlstm")
    parser.add_argument("--source", default=None, help=source_help())
    args = parser.parse_args(argv)
    data_dir = default_data_dir(args.data_dir)
    source = pathlib.Path(args.source).expanduser() if args.source else None
    try:
        out = get_info(args.name).prepare(data_dir, source)
    except DatasetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"{args.name}: prepared in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
