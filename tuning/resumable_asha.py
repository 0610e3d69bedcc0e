"""ASHA whose rungs survive a resumed sweep.

Tune saves its searcher's state with the sweep but not its scheduler's (Ray's open ray-project/ray#30838): after
`Tuner.restore` the scheduler is the one pickled when the sweep started, with every rung empty, so a resumed sweep
compares a trial reaching a rung only with the trials that reached it since the resume, and stops other trials
than an uninterrupted sweep would.

`ResumableASHA` keeps every rung's records (trial -> the value ASHA compared there) and every stop it decided in
`SWEEP/asha_rungs.json`, written whenever they change (through a temporary file: a driver killed mid-write leaves
the previous one), and reads them back the first time the scheduler of a resumed sweep is called. A trial that Tune
restores from a checkpoint older than the records reports epochs again that ASHA already decided on; it gets the
same decision again (ASHA itself would let a trial it had stopped go on, because its record is already there).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ray.tune.schedulers import ASHAScheduler, TrialScheduler

from data.files import atomic_target
from tuning.failure_feedback import NotesFailures

ASHA_STATE = "asha_rungs.json"


class RungStateError(RuntimeError):
    """The recorded rungs do not belong to this scheduler's settings."""


class ResumableASHA(NotesFailures, ASHAScheduler):
    """`ASHAScheduler` (one bracket) whose rung records and stop decisions are kept in `state_file` (None: nowhere);
    it notes why trials fail for the searcher (`tuning.failure_feedback`)."""

    def __init__(self, *, state_file: Path | None, time_attr: str, max_t: int, **asha: Any) -> None:
        super().__init__(time_attr=time_attr, max_t=max_t, brackets=1, **asha)
        self.state_file = state_file
        self.time_key, self.max_time = time_attr, max_t
        self.stopped_at: dict[str, float] = {}  # trial id -> the time (below max_t) ASHA stopped it at
        self.loaded = False

    def __getstate__(self) -> dict:
        # Tune pickles the scheduler with the sweep; what it reads when restored comes from state_file.
        return {**self.__dict__, "loaded": False}

    def rungs(self) -> list[tuple[float, dict[str, float]]]:
        """(milestone, {trial id: value}) of each rung, the highest first (ASHA's own order)."""
        return self._brackets[0]._rungs

    def on_trial_add(self, tune_controller: Any, trial: Any) -> None:
        self._load_once()
        super().on_trial_add(tune_controller, trial)

    def on_trial_result(self, tune_controller: Any, trial: Any, result: dict) -> str:
        self._load_once()
        now = result.get(self.time_key)
        if trial.trial_id in self.stopped_at and now is not None and now >= self.stopped_at[trial.trial_id]:
            return TrialScheduler.STOP  # a restored trial repeating an epoch ASHA already stopped it at
        before = self._count()
        action = super().on_trial_result(tune_controller, trial, result)
        if action == TrialScheduler.STOP and now < self.max_time and trial.trial_id not in self.stopped_at:
            self.stopped_at[trial.trial_id] = now
        if action == TrialScheduler.STOP or self._count() != before:
            self._save()
        return action

    def on_trial_complete(self, tune_controller: Any, trial: Any, result: dict) -> None:
        self._load_once()
        before = self._count()
        super().on_trial_complete(tune_controller, trial, result)
        if self._count() != before:
            self._save()

    def _count(self) -> int:
        return sum(len(recorded) for _, recorded in self.rungs())

    def _save(self) -> None:
        if self.state_file is None:
            return
        state = {
            "time_attr": self.time_key,
            "rungs": [{"milestone": milestone, "records": dict(recorded)} for milestone, recorded in self.rungs()],
            "stopped_at": self.stopped_at,
        }
        with atomic_target(self.state_file) as tmp:
            tmp.write_text(json.dumps(state, indent=1))

    def _load_once(self) -> None:
        if self.loaded:
            return
        self.loaded = True
        if self.state_file is None or not self.state_file.exists():
            return
        state = json.loads(self.state_file.read_text())
        saved = {float(rung["milestone"]): rung["records"] for rung in state["rungs"]}
        mine = [milestone for milestone, _ in self.rungs()]
        if state["time_attr"] != self.time_key or sorted(saved) != sorted(float(m) for m in mine):
            raise RungStateError(
                f"{self.state_file} holds rungs {sorted(saved)} on {state['time_attr']}, but this sweep's ASHA has "
                f"{sorted(mine)} on {self.time_key}: resume with the scheduler settings the sweep started with"
            )
        for milestone, recorded in self.rungs():
            recorded.clear()
            recorded.update(saved[float(milestone)])
        self.stopped_at = dict(state["stopped_at"])


def forget(sweep_dir: Path) -> None:
    """A sweep that starts (again) from no saved Tune state: rungs recorded by an earlier attempt name its trials."""
    (sweep_dir / ASHA_STATE).unlink(missing_ok=True)
