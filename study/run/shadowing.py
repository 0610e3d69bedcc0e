"""The first check of every `python -m study.X`: are `data`, `models`, `study` and `tuning` this project's packages?

`python -m` puts the current folder first on the import path, so a folder there named like one of them (a
workspace's `data/` of prepared datasets) is imported in its place and fails far from the cause, as `cannot import
name 'DatasetError' from 'data' (unknown location)`. The console scripts (`auxlstm-sweep`, …) leave the current
folder off the path. Standard library only; `importlib.util.find_spec` locates a package without running it.
`data.shadowing` does the same for `data`'s own command lines (data never imports study).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

PACKAGES = ("data", "models", "study", "tuning")
ROOT = Path(__file__).resolve().parents[2]


def hiding_folder(name: str, root: Path = ROOT) -> Path | None:
    """The folder Python takes for package `name` instead of `root / name`, or None when it takes that one.

    Args:
        name: a top-level package of the project, e.g. `data`.
        root: the folder holding the project's packages (where this one was imported from).

    Returns:
        The regular package's folder, or the first folder of a namespace package (a bare folder on the path: the
        project's packages all have an `__init__.py`); None also when `name` is not found at all.
    """
    spec = importlib.util.find_spec(name)
    if spec is None:
        return None
    if spec.origin is not None and spec.has_location:
        folder = Path(spec.origin).parent
    else:
        folder = Path(next(iter(spec.submodule_search_locations or ()), "."))
    return None if folder.resolve() == (root / name).resolve() else folder.absolute()


def refuse_shadowed(command: str, packages: tuple[str, ...] = PACKAGES) -> None:
    """Exit with status 2 (argparse's for unusable input) and one line on stderr when a folder hides one of
    `packages`; return otherwise. Call it before importing any of them.

    Args:
        command: the console script that runs the same command line, e.g. `auxlstm-sweep`.
        packages: the top-level packages to check.
    """
    for name in packages:
        folder = hiding_folder(name)
        if folder is not None:
            print(shadowing_message(folder, name, command), file=sys.stderr)
            raise SystemExit(2)


def shadowing_message(folder: Path, name: str, command: str) -> str:
    """What to do when `folder` hides the project's package `name`, in one line."""
    return (
        f"error: the folder {folder} hides this project's package '{name}' (python -m looks in the current folder "
        f"first): run {command} instead of python -m, run from another folder, or rename that folder"
    )
