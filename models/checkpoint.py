"""Checkpoints: model, optimizer, fp16 loss scale, epoch and history, written atomically, read with weights_only=True.

No RNG state is saved: the trainer re-derives every random stream from (seed, epoch, rank) (`models.loop`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch


def save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    """Write `state` (tensors, numbers, strings, lists and dicts of them) to path via a temporary file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint written by `save_checkpoint`; refuses anything but plain tensors and containers."""
    return torch.load(path, map_location=map_location, weights_only=True)
