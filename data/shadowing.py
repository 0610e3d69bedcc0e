"""The first check of `python -m data.prepare` and `python -m data.info`: is `data` this package?

A folder named `data` in the current folder (a workspace's prepared datasets) is imported in its place, since
`python -m` looks there first; the console scripts (`auxlstm-prepare`, `auxlstm-data-info`) do not. The command
lines of study/ check all four packages with `study.run.shadowing`; this is its one-package copy, because data
never imports study. Standard library only.
"""

from __future__ import annotations

import sys
from pathlib import Path


def refuse_shadowed(command: str) -> None:
    """Exit with status 2 and one line on stderr when the package Python imported as `data` is not this folder.

    Args:
        command: the console script that runs the same command line, e.g. `auxlstm-prepare`.
    """
    package, ours = sys.modules[__package__], Path(__file__).resolve().parent
    # A bare folder (a namespace package) has no __file__; the project's packages all have an __init__.py.
    init = getattr(package, "__file__", None)
    found = (Path(init).parent if init else Path(next(iter(package.__path__)))).absolute()
    if found.resolve() != ours:
        print(
            f"error: the folder {found} hides this project's package 'data' (python -m looks in the current "
            f"folder first): run {command} instead of python -m, run from another folder, or rename that folder",
            file=sys.stderr,
        )
        raise SystemExit(2)
