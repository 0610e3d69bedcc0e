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
    grace_period: int = 1  # ASHA's: supervised epochs before it may stop a trial (the spec's default: 1)


METHODS = {
    "random": Method("random", "fifo"),
    "tpe": Method("tpe", "fifo"),
    "random + asha grace 1": Method("random", "asha"),
    "tpe + asha grace 1": Method("tpe", "asha"),
    "tpe (4 start-up) + asha grace 1": Method("tpe", "asha", startup=4),
    "tpe + asha grace 1, stopped as pruned": Method("tpe", "asha", stopped_as_pruned=True),
    "tpe + asha grace 2": Method("tpe", "asha", grace_period=2),  # a spec's default at 4 epochs: half of them
}
