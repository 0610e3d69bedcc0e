"""The searcher x scheduler combinations the replay bench compares (`tuning.replay`), and the seed phase that may
follow the search; Ray-free, so that a command line can offer them before anything is imported."""

from __future__ import annotations

from dataclasses import dataclass

Curve = tuple[list[float], list[float]]  # a recorded run: the objective after each epoch, the seconds of each epoch


@dataclass(frozen=True)
class Method:
    sampler: str  # "random" | "tpe"
    scheduler: str  # "fifo" | "asha" | "hyperband" (Tune's asynchronous Hyperband: ASHA over `brackets` brackets)
    startup: int = 10  # TPE's random start-up trials (Optuna's default: 10)
    stopped_as_pruned: bool = False  # trials the scheduler stopped told to Optuna as PRUNED, not COMPLETE
    grace_period: int = 1  # ASHA's: supervised epochs before it may stop a trial (its lowest bracket's, Hyperband's)
    brackets: int = 1
    seed_phase: str = ""  # after the search: "race" (`--race seeds`) or "top-k" (`--seeds seeds --top-k top_k`)
    seeds: int = 3
    top_k: int = 2

    @property
    def reserve_trials(self) -> int:
        """Full trials' compute the search leaves to its seed phase: what the fixed top-k re-runs cost (the race
        gets as much, and may end sooner)."""
        return self.top_k * (self.seeds - 1) if self.seed_phase else 0


METHODS = {
    "random": Method("random", "fifo"),
    "tpe": Method("tpe", "fifo"),
    "random + asha grace 1": Method("random", "asha"),
    "tpe + asha grace 1": Method("tpe", "asha"),
    "tpe (4 start-up) + asha grace 1": Method("tpe", "asha", startup=4),
    "tpe + asha grace 1, stopped as pruned": Method("tpe", "asha", stopped_as_pruned=True),
    "tpe + asha grace 2": Method("tpe", "asha", grace_period=2),  # a spec's default at 4 epochs: half of them
    # Model-based multi-fidelity, BOHB-style: TPE learns from every fidelity (Optuna ranks PRUNED trials by the
    # epochs they reached and their last value) while Hyperband hedges over how early to stop.
    "tpe + hyperband (3 brackets), stopped as pruned": Method("tpe", "hyperband", brackets=3, stopped_as_pruned=True),
    "tpe + asha grace 2 + race 3": Method("tpe", "asha", grace_period=2, seed_phase="race"),
    "tpe + asha grace 2 + 3 seeds of the top 2": Method("tpe", "asha", grace_period=2, seed_phase="top-k"),
}
