"""The tabular benchmark of the replay bench (`python -m study.replay`): every configuration of a finished grid
sweep with its objective and seconds per epoch, under each seed it ran with, kept as a small Parquet file.

One row per (configuration, seed, epoch): `config` (the searched values that apply to it, as sorted JSON), `seed`
(its `train.seed`: the search's trial or a seed re-run of it), `epoch`, `value` (the objective reported after that
epoch) and `seconds` (the epoch's `epoch_seconds`). The file's metadata names the spec whose space was gridded, the
objective, its mode and the command that recorded it. A configuration's true objective is its mean over the seeds
after the last epoch.
"""

from __future__ import annotations

import json
import shlex
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from data.files import atomic_target
from tuning.replay_methods import Curve

TABLES = Path(__file__).parents[1] / "replay_tables"  # the shipped tables
DEFAULT_TABLE = TABLES / "replay-grid.parquet"


def config_key(params: Mapping[str, Any]) -> str:
    return json.dumps(dict(params), sort_keys=True)


def table_from_rows(rows: Iterable[Mapping[str, Any]], restrict: Any, metric: str) -> pa.Table:
    """The COMPLETE rows of a grid sweep (and of its seed re-runs) as the replay table; every configuration must
    have run every epoch under the same seeds."""
    columns: dict[str, list] = {"config": [], "seed": [], "epoch": [], "value": [], "seconds": []}
    epochs, runs = set(), set()
    for row in rows:
        if row.get("status") != "COMPLETE":
            continue
        key, seed = config_key(restrict(row["params"])), int(row["config"]["train.seed"])
        if (key, seed) in runs:
            raise ValueError(f"configuration {key} ran twice with seed {seed}: a grid has each configuration once")
        runs.add((key, seed))
        history = [h for h in row["history"] if h.get("supervised_epoch", 1) >= 1]
        epochs.add(len(history))
        for h in history:
            for name, value in (("config", key), ("seed", seed), ("epoch", int(h["epoch"])),
                                ("value", float(h[metric])), ("seconds", float(h["epoch_seconds"]))):  # fmt: skip
                columns[name].append(value)
    if len(epochs) != 1:
        raise ValueError(f"the grid's trials ran different numbers of epochs ({sorted(epochs)}): record it with FIFO")
    seed_sets = {frozenset(s for k, s in runs if k == key) for key, _ in runs}
    if len(seed_sets) != 1:
        raise ValueError("the grid's configurations ran with different seeds: re-run every one with the same seeds "
                         "(--seeds N --top-k TRIALS)")  # fmt: skip
    return pa.table(columns)


def write_table(path: Path, table: pa.Table, meta: Mapping[str, str]) -> None:
    table = table.replace_schema_metadata({k.encode(): str(v).encode() for k, v in meta.items()})
    with atomic_target(path) as tmp:
        pq.write_table(table, tmp)


@dataclass(frozen=True)
class ReplayTable:
    """A recorded grid: each configuration's objective and seconds per epoch, under each of its seeds."""

    runs: dict[str, dict[int, Curve]]  # config key -> seed -> its curve
    meta: dict[str, str]  # spec, metric, mode, recorded_with

    @classmethod
    def load(cls, path: Path) -> ReplayTable:
        table = pq.read_table(path)
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        runs: dict[str, dict[int, Curve]] = {}
        for row in sorted(table.to_pylist(), key=lambda r: (r["config"], r.get("seed", 0), r["epoch"])):
            values, seconds = runs.setdefault(row["config"], {}).setdefault(row.get("seed", 0), ([], []))
            values.append(row["value"])
            seconds.append(row["seconds"])
        return cls(runs, meta)

    @property
    def seeds(self) -> list[int]:
        return sorted(next(iter(self.runs.values())))

    @property
    def epochs(self) -> int:
        return len(next(iter(next(iter(self.runs.values())).values()))[0])

    @property
    def sign(self) -> float:
        return 1.0 if self.meta["mode"] == "max" else -1.0

    def truth(self, key: str) -> float:
        """A configuration's true objective: its mean over the seeds after the last epoch."""
        return statistics.mean(values[-1] for values, _ in self.runs[key].values())

    def best(self) -> float:
        """The grid's best true objective."""
        return self.sign * max(self.sign * self.truth(key) for key in self.runs)

    def worst(self) -> float:
        """The grid's worst true objective."""
        return -self.sign * max(-self.sign * self.truth(key) for key in self.runs)

    def full_trial_seconds(self) -> float:
        """The mean seconds of a trial that runs every epoch."""
        curves = [curve for by_seed in self.runs.values() for curve in by_seed.values()]
        return sum(sum(seconds) for _, seconds in curves) / len(curves)

    def world(self, restrict: Any, repeat: int = 0) -> World:
        """The table as one replayed sweep sees it: its seed 0 is the table's `repeat`-th seed (cyclically), so that
        repeats see the seeds' noise in turn."""
        return World(self, restrict, repeat % len(self.seeds))


@dataclass(frozen=True)
class World:
    """What a replayed sweep may look up: a configuration's curve under a seed, and its true objective."""

    table: ReplayTable
    restrict: Any  # params -> the searched values that apply to them
    shift: int  # the sweep's seed s is the table's seeds[(s + shift) % len(seeds)]

    def key(self, params: Mapping[str, Any]) -> str:
        key = config_key(self.restrict(params))
        if key not in self.table.runs:
            raise KeyError(f"configuration {key} is not in the replay table: the space must be the recorded grid's")
        return key

    def curve(self, params: Mapping[str, Any], seed: int = 0) -> Curve:
        seeds = self.table.seeds
        if seed >= len(seeds):
            raise ValueError(f"seed {seed}: the replay table holds {len(seeds)} seed(s) per configuration")
        return self.table.runs[self.key(params)][seeds[(seed + self.shift) % len(seeds)]]

    def truth(self, params: Mapping[str, Any]) -> float:
        return self.table.truth(self.key(params))


def record_table(sweep: Any, out: Path) -> str:
    """Write the replay table of a finished grid sweep (`SweepInfo`) to `out`; what was written, in a line."""
    from study.results.table import load_rows
    from study.spec.parse import parse_study

    study = parse_study(sweep.data["spec"])
    objective = study.objectives[0]
    table = table_from_rows(load_rows(sweep.path), study.space.restrict, objective.metric)
    command = "python -m study.replay " + shlex.join(["record", "--sweep", sweep.data["name"], "--out", str(out)])
    write_table(out, table, {"spec": json.dumps(sweep.data["spec"]), "metric": objective.metric,
                             "mode": objective.mode, "recorded_with": command})  # fmt: skip
    configs = len(set(table.column("config").to_pylist()))
    seeds = len(set(table.column("seed").to_pylist()))
    return (
        f"replay table {out}: {configs} configurations × {seeds} seed(s), {table.num_rows} epochs of {objective.metric}"
    )
