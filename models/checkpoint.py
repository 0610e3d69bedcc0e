"""Checkpoints: model, optimizer, fp16 loss scale, epoch and history, written atomically, read with weights_only=True.

No RNG state is saved: the trainer re-derives every random stream from (seed, epoch, rank) (`models.loop`).
Each save keeps the checkpoint it replaces (`checkpoint.prev.pt`), so a resume can fall back to it when the latest
one is found truncated or damaged (a full disk, a copy cut short, bad storage).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import torch


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read (truncated, damaged, not a checkpoint); the message names it and the
    fix, `problem` says only what is wrong."""

    def __init__(self, problem: str, fix: str = "delete it to train from the start") -> None:
        super().__init__(f"{problem}; {fix}")
        self.problem = problem


def previous(path: Path) -> Path:
    """Where `save_checkpoint` keeps the checkpoint it replaced: checkpoint.pt -> checkpoint.prev.pt."""
    return path.with_name(f"{path.stem}.prev{path.suffix}")


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write `state` (tensors, numbers, strings, lists and dicts of them) to path via a temporary file, keeping
    the file it replaces as `previous(path)`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    if path.exists():  # a moment without `path` is fine: `load_resumable` then takes the previous one
        os.replace(path, previous(path))
    os.replace(tmp, path)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`; refuses anything but plain tensors and containers.

    A file that is not a readable checkpoint raises CheckpointError naming it (a missing one: FileNotFoundError).
    """
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except OSError:
        raise
    except Exception as err:  # torch raises RuntimeError, UnpicklingError, EOFError, ... for a damaged file
        raise CheckpointError(f"{path} is not a readable checkpoint, truncated or damaged ({_why(path, err)})") from err
    if not isinstance(state, dict) or "epoch" not in state:
        raise CheckpointError(f"{path} is not a training checkpoint (it holds no epoch)")
    return state


def load_resumable(path: Path) -> dict[str, Any] | None:
    """The checkpoint to resume from: `path`, else the one it replaced (with a warning naming both and the epoch).

    None when neither exists (nothing to resume); CheckpointError naming them when neither can be read. A damaged
    `path` is moved aside to `path.damaged`, so the next save does not keep it as the previous checkpoint.
    """
    older = previous(path)
    if not path.exists() and not older.exists():
        return None
    problems = []
    for candidate in (path, older):
        try:
            state = load_checkpoint(candidate)
        except FileNotFoundError:
            problems.append(f"{candidate} is missing")
            continue
        except CheckpointError as err:
            problems.append(err.problem)
            continue
        if candidate == older:
            if path.exists():
                os.replace(path, path.with_name(path.name + ".damaged"))
            print(f"warning: {problems[0]}; resuming from the previous checkpoint {older} (epoch {state['epoch']})",
                  file=sys.stderr, flush=True)  # fmt: skip
        return state
    damaged = " and ".join(str(p) for p in (path, older) if p.exists())
    raise CheckpointError(
        f"no readable checkpoint to resume from: {'; '.join(problems)}", f"delete {damaged} to train from the start"
    )


def _why(path: Path, err: Exception) -> str:
    """A short reason: torch's messages run to paragraphs."""
    if path.stat().st_size == 0:
        return "an empty file"
    first = " ".join(str(err).split()).split(". ")[0][:160]
    return f"{type(err).__name__}: {first}" if first else type(err).__name__
