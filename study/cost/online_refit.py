"""The memory model refitted online to a sweep's own trials as their peaks are measured.

A sweep starts with a model fitted to other runs (`study/memory_models/DEVICE.json` or `--memory-model`). Once
`REFIT_MIN` of its own trials have measured training peaks on the model's device (finished or stopped early by the
scheduler: every epoch measures one), the model is refitted to them whenever another one is measured, and the latest
refit is the model in use while its stated error (the largest leave-one-out relative error) is below the start
model's. The budget gate and every later trial's recorded prediction use the model in use, so the stated error
follows the sweep's own measurements: it shrinks from the start model's, and may grow back as more of them show
more spread.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from study.cost.memory_model import TRAIN_FEATURES, MemoryModel, measured_runs

REFIT_MIN = len(TRAIN_FEATURES) + 2  # the fewest runs that fit the coefficients with a leave-one-out error
MEASURED = ("COMPLETE", "STOPPED")  # the statuses whose epochs measured a whole training step's peak


@dataclass
class OnlineRefit:
    """The model a sweep predicts with now: `start`, or the latest refit while it states a lower error than `start`."""

    start: MemoryModel
    current: MemoryModel | None = None
    measured: int = 0  # this sweep's measured trials the last refit saw
    ended: int = -1  # rows with a measured status at the last call: unchanged, nothing new was measured

    def model(self, rows: Iterable[Mapping[str, Any]]) -> MemoryModel:
        rows = list(rows)
        in_use = self.current or self.start
        ended = sum(r.get("status") in MEASURED for r in rows)  # cheap: asked before every suggestion
        if ended == self.ended:
            return in_use
        self.ended = ended
        count = len(measured_runs(rows, self.start.device, MEASURED))
        if count < REFIT_MIN or count == self.measured:
            return in_use
        self.measured = count
        try:
            refit = MemoryModel.fit(rows, self.start.device, MEASURED)
        except ValueError:  # the runs cannot fit the coefficients (too few distinct ones): keep the model in use
            return in_use
        # The latest refit, on the most measurements, states its error most honestly; it replaces the model in use
        # while it states a lower error than the model the sweep started with.
        if refit.train.relative_error < self.start.train.relative_error:
            self.current = MemoryModel(refit.train, refit.eval or in_use.eval)
            if f"{refit.train.relative_error:.0%}" != f"{in_use.train.relative_error:.0%}":
                print(
                    f"memory: model refitted to {count} of this sweep's trials: training peak within "
                    f"{refit.train.relative_error:.0%} (the model in use stated {in_use.train.relative_error:.0%})",
                    flush=True,
                )
        return self.current or self.start
