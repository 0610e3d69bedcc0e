"""A complete copy of Tune's sweep state, so a driver killed while Tune was copying its state can still resume.

Tune writes its state (experiment state, searcher, tuner) in a staging directory after every controller step and
copies it to the storage path without a temporary file: a SIGKILL during that copy leaves a truncated file, and
`Tuner.restore` then starts the whole sweep again. After every step the sweep's callback copies the staging files
to `SWEEP/tune-state/` (each through a temporary name); on resume, an unreadable state file in a local storage
path is replaced by that copy first.
"""

from __future__ import annotations

import json
import os
import pickletools
import shutil
from pathlib import Path

BACKUP = "tune-state"


def back_up(staging: Path, backup: Path) -> None:
    """Copy the top-level files of Tune's staging directory that changed since the last call, atomically."""
    backup.mkdir(parents=True, exist_ok=True)
    for source in staging.iterdir():
        if not source.is_file():
            continue
        target = backup / source.name
        if target.exists() and target.stat().st_mtime_ns == source.stat().st_mtime_ns:
            continue
        tmp = backup / f".{source.name}.tmp"
        shutil.copy2(source, tmp)
        os.replace(tmp, target)


def _readable(path: Path) -> bool:
    try:
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".pkl":
            for _ in pickletools.genops(path.read_bytes()):  # parses to the STOP opcode; runs nothing
                pass
    except Exception:  # any failure to read means the copy is damaged
        return False
    return True


def repair(experiment: Path, backup: Path) -> bool:
    """Put the backed-up state into `experiment` where one of its state files cannot be read; True if it did."""
    if not backup.is_dir() or not experiment.is_dir():
        return False
    files = [f for f in experiment.iterdir() if f.is_file() and f.suffix in (".json", ".pkl")]
    if all(_readable(f) for f in files):
        return False
    for source in backup.iterdir():
        if source.is_file() and not source.name.startswith("."):
            shutil.copy2(source, experiment / source.name)
    return True
