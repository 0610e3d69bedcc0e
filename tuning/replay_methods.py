"""The searcher x scheduler combinations the replay bench compares (`tuning.replay`); Ray-free, so that a command
line can offer them before anything is imported."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    sampler: str  # "random" | "tpe"
    scheduler: str  # "fifo" | "asha"
    startup: int = 10  # TPE's random start-up trials (Optuna's default: 10)
    stopped_as_pruned: bool = False  # trials ASHA stopped told to Optuna as PRUNED, not COMPLETE


METHODS = {
    "random": Method("random", "fifo"),
    "random + asha": Method("random", "asha"),
    "tpe": Method("tpe", "fifo"),
    "tpe + asha": Method("tpe", "asha"),
    "tpe (4 start-up) + asha": Method("tpe", "asha", startup=4),
    "tpe + asha, stopped as pruned": Method("tpe", "asha", stopped_as_pruned=True),
}
