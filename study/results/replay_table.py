"""The tabular benchmark of the replay bench (`python -m study.replay`): every configuration of a finished grid
sweep with its objective and seconds per epoch, kept as a small Parquet file.

One row per (configuration, epoch): `config` (the searched values that apply to it, as sorted JSON), `epoch`,
`value` (the objective reported after that epoch) and `seconds` (the epoch's `epoch_seconds`). The file's metadata
names the spec whose space was gridded, the objective, its mode and the command that recorded it.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from data.files import atomic_target

TABLES = Path(__file__).parents[1] / "replay_tables"  # the shipped tables
DEFAULT_TABLE = TABLES / "replay-grid.parquet"


def config_key(params: Mapping[str, Any]) -> str:
    return json.dumps(dict(params), sort_keys=True)


def table_from_rows(rows: Iterable[Mapping[str, Any]], restrict: Any, metric: str) -> pa.Table:
    """The COMPLETE rows of a grid sweep as the replay table; every configuration must have run every epoch."""
    columns: dict[str, list] = {"config": [], "epoch": [], "value": [], "seconds": []}
    epochs = set()
    for row in rows:
        if row.get("status") != "COMPLETE":
            continue
        history = [h for h in row["history"] if h.get("supervised_epoch", 1) >= 1]
        epochs.add(len(history))
        for h in history:
            columns["config"].append(config_key(restrict(row["params"])))
            columns["epoch"].append(int(h["epoch"]))
            columns["value"].append(float(h[metric]))
            columns["seconds"].append(float(h["epoch_seconds"]))
    if len(epochs) != 1:
        raise ValueError(f"the grid's trials ran different numbers of epochs ({sorted(epochs)}): record it with FIFO")
    return pa.table(columns)


def write_table(path: Path, table: pa.Table, meta: Mapping[str, str]) -> None:
    table = table.replace_schema_metadata({k.encode(): str(v).encode() for k, v in meta.items()})
    with atomic_target(path) as tmp:
        pq.write_table(table, tmp)


@dataclass(frozen=True)
class ReplayTable:
    """A recorded grid: each configuration's objective and seconds per epoch."""

    curves: dict[str, tuple[list[float], list[float]]]  # config key -> (values, seconds), epoch by epoch
    meta: dict[str, str]  # spec, metric, mode, recorded_with

    @classmethod
    def load(cls, path: Path) -> ReplayTable:
        table = pq.read_table(path)
        meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
        curves: dict[str, tuple[list[float], list[float]]] = {}
        for row in sorted(table.to_pylist(), key=lambda r: (r["config"], r["epoch"])):
            values, seconds = curves.setdefault(row["config"], ([], []))
            values.append(row["value"])
            seconds.append(row["seconds"])
        return cls(curves, meta)

    @property
    def epochs(self) -> int:
        return len(next(iter(self.curves.values()))[0])

    @property
    def sign(self) -> float:
        return 1.0 if self.meta["mode"] == "max" else -1.0

    def best(self) -> float:
        """The grid's best objective after the last epoch."""
        return self.sign * max(self.sign * values[-1] for values, _ in self.curves.values())

    def worst(self) -> float:
        """The grid's worst objective after the last epoch."""
        return -self.sign * max(-self.sign * values[-1] for values, _ in self.curves.values())

    def full_trial_seconds(self) -> float:
        """The mean seconds of a trial that runs every epoch."""
        return sum(sum(seconds) for _, seconds in self.curves.values()) / len(self.curves)

    def lookup(self, restrict: Any) -> Any:
        """params -> (values, seconds) of their configuration (restricted to the searched values that apply)."""

        def find(params: Mapping[str, Any]) -> tuple[list[float], list[float]]:
            key = config_key(restrict(params))
            if key not in self.curves:
                raise KeyError(f"configuration {key} is not in the replay table: the space must be the recorded grid's")
            return self.curves[key]

        return find


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
    return f"replay table {out}: {configs} configurations, {table.num_rows} epochs of {objective.metric}"
