"""Restoring a trial's or a Ray Train worker group's checkpoint from storage, falling back to the one before.

Tune names its checkpoints `checkpoint_000003`, the project names Ray Train's `epoch_0003` (and `epoch_0003-r1`
for an epoch computed again after a fallback); both keep the two newest.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import sys
from pathlib import Path

import pyarrow.fs
import ray.train

from models.checkpoint import CheckpointError, load_checkpoint

CHECKPOINT = "checkpoint.pt"  # the file in every checkpoint directory

# checkpoint_000003 (Tune's), epoch_0003 (Ray Train's), epoch_0003-r1 (computed again after a fallback)
_CHECKPOINT_NAME = re.compile(r"(?P<kind>.+)_(?P<epoch>\d+)(?:-r(?P<redo>\d+))?")


def _checkpoint_order(name: str) -> tuple[str, int, int] | None:
    """(kind, redo, number) of a checkpoint directory name, None for any other name. Within a kind, a higher redo
    was written after every lower one (a worker group that fell back starts the next), and within one redo a higher
    number after a lower one: the tuples sort from the oldest to the newest."""
    match = _CHECKPOINT_NAME.fullmatch(name)
    return (match["kind"], int(match["redo"] or 0), int(match["epoch"])) if match else None


def checkpoint_dir_name(epoch: int, restored: ray.train.Checkpoint | None, resumed_from: int) -> str:
    """The Ray Train checkpoint directory for `epoch` of a worker group that restored `restored` (None: none)
    and resumed from the checkpoint of epoch `resumed_from` (0: none).

    `epoch_0003`, unless the group fell back from the restored checkpoint (epoch N, unreadable) to an older one:
    it computes epochs up to N again, and Ray Train's checkpoint manager must not get a second checkpoint in a
    directory it already tracks (evicting the damaged one deletes its directory, which would then be the new
    one). Those epochs, and the ones after them, take one more `-rK` than the restored checkpoint:
    `epoch_0003-r1`, unique as long as each group's epochs only increase.
    """
    redo = 0
    if restored is not None and (order := _checkpoint_order(posixpath.basename(restored.path.rstrip("/")))):
        _, redo, number = order
        redo += resumed_from < number
    return f"epoch_{epoch:04d}" + (f"-r{redo}" if redo else "")


def restore_readable(checkpoint: ray.train.Checkpoint, dest: Path) -> int:
    """Copy the checkpoint file of a restored Tune or Train checkpoint to `dest`; returns its epoch.

    If that file cannot be read (an upload cut short, damaged storage), the newest older sibling checkpoint
    directory that can (Tune and Train keep two) takes its place, with a warning naming both; CheckpointError
    when none can be read. Older: of the same kind, before it in `_checkpoint_order` (by number, not by text:
    epoch_10000 is after epoch_9999, epoch_0004-r1 after epoch_0005) and of no later epoch (a directory
    abandoned by a fallback, or never registered, is not taken to skip epochs).
    """
    fs, path = checkpoint.filesystem, checkpoint.path.rstrip("/")
    parent, name = posixpath.split(path)
    current, older = _checkpoint_order(name), []
    if current is not None:
        siblings = (
            (order, i.path) for i in fs.get_file_info(pyarrow.fs.FileSelector(parent))
            if i.type == pyarrow.fs.FileType.Directory and (order := _checkpoint_order(i.base_name))
        )  # fmt: skip
        older = [
            sibling for order, sibling in sorted(siblings, reverse=True)
            if order[0] == current[0] and order[1:] < current[1:] and order[2] <= current[2]
        ]  # fmt: skip
    problems = []
    for candidate in [path, *older]:
        try:
            with ray.train.Checkpoint(candidate, filesystem=fs).as_directory() as directory:
                shutil.copy(Path(directory) / CHECKPOINT, dest)
            epoch = load_checkpoint(dest)["epoch"]
        except CheckpointError as err:  # it names the local copy: name the file in storage
            problems.append(err.problem.replace(str(dest), f"{candidate}/{CHECKPOINT}"))
            continue
        except OSError as err:
            problems.append(f"{candidate}/{CHECKPOINT}: {err.strerror or err}")
            continue
        if problems:
            print(f"warning: {'; '.join(problems)}; resuming from the older checkpoint {candidate} (epoch {epoch})",
                  file=sys.stderr, flush=True)  # fmt: skip
        return epoch
    raise CheckpointError(
        f"no readable checkpoint to resume from: {'; '.join(problems)}", f"delete {parent} to train from the start"
    )
