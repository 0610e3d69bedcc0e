"""What a sweep trial is, without Ray: sampled values -> config -> the one run path, described for tracking.

`TrialJob` is handed to the Tune glue in tuning/ (which does not import study/) and pickled into every trial.
A trial's MLflow run gets as params only the config keys its model kind reads (`models.registry`: no `aux.*` on a
plain LSTM, no `train.truncation` on the Transformer), so runs of different kinds compare cleanly; the results
table keeps the whole config.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data import default_data_dir
from data.shipping import fetch, shipped_name
from study.cost.memory_model import MemoryModel, Prediction
from study.cost.online_refit import OnlineRefit
from study.results.seeds import applying as applying_keys
from study.results.seeds import seed_free_group
from study.results.table import ResultsTable
from study.run.config import RunConfig, dump_yaml, flatten
from study.run.provenance import command_line, data_checksum
from study.run.runner import run_config
from study.spec.definition import SEED_OF, Study
from tuning.naming import DATA_CHECKSUM, trial_run_name, trial_summary, trial_tags
from tuning.storage import Storage

CONFIGS = "configs"  # sweep_dir/configs/TRIAL.yaml: each trial's resolved config


class DataMismatch(RuntimeError):
    """A trial's data differs from what the sweep's driver prepared."""


@dataclass(frozen=True)
class TrialJob:
    study: Study
    data_dir: str
    sweep_dir: str
    memory_model: MemoryModel | None = None  # predicts each trial's peaks (recorded; gates the budget) at the start
    memory_budget_mb: float | None = None  # trials predicted above it are refused before they start
    data_checksums: str = ""  # the driver's: "NAME:SHA256 ..." (study.driver.setup.prepare_data)
    data_store: Storage | None = None  # where the driver shipped the datasets (a cluster without shared disk)
    # The model in use on the driver: refitted to this sweep's measured trials as they come (study.cost.online_refit)
    refit: OnlineRefit | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.memory_model is not None and self.refit is None:
            object.__setattr__(self, "refit", OnlineRefit(self.memory_model))  # frozen: set once, at construction

    def predicted(self, params: dict[str, Any], cfg: RunConfig | None = None) -> dict[str, Prediction]:
        """{peak name: prediction} of the trial's config (`cfg`, if resolved already) by the model in use, or {}
        without a model."""
        if self.refit is None:
            return {}
        model = self.refit.model(self.results_table().rows.values())
        return model.predict(flatten(cfg or self.resolve(params)), self.workers(params))

    def refuse(self, params: dict[str, Any]) -> str | None:
        """Why a suggested trial must not start (its predicted training peak is over the budget), or None."""
        peak = self.predicted(params).get("peak_memory_mb")
        if self.memory_budget_mb is None or peak is None or peak.mb <= self.memory_budget_mb:
            return None
        return (f"predicted training peak {peak.mb:,.0f} MB (± {peak.error:,.0f}) is over the memory budget of "
                f"{self.memory_budget_mb:,.0f} MB")  # fmt: skip

    def resolve(self, params: dict[str, Any]) -> RunConfig:
        return self.study.config_for(params)

    def workers(self, params: dict[str, Any]) -> int:
        return self.study.workers_for(params)

    def run(self, cfg: RunConfig, data_dir: Path, out: Path, **hooks: Any) -> dict[str, Any]:
        """The one run path, on this node's copy of the data; every epoch's metrics carry its checksum."""
        data_dir, checksum = self.data_here(cfg, data_dir)
        on_epoch = hooks.get("on_epoch")
        if on_epoch is not None:
            hooks["on_epoch"] = lambda metrics: on_epoch({**metrics, DATA_CHECKSUM: checksum})
        return run_config(cfg, data_dir, out, **hooks)

    def data_here(self, cfg: RunConfig, data_dir: Path) -> tuple[Path, str]:
        """(data folder, checksum) of the data this node reads for `cfg`: the shipped copy where the driver shipped
        it, else `data_dir`. Raises DataMismatch when it is not the data the driver prepared."""
        name = cfg.data.name
        expected = dict(item.split(":", 1) for item in self.data_checksums.split()).get(name)
        if self.data_store is not None and expected:
            fs, place = self.data_store.join(shipped_name(name, expected)).resolve()
            data_dir = fetch(fs, place, default_data_dir(), shipped_name(name, expected))
        checksum = data_checksum(cfg.data, data_dir)
        if expected and checksum != expected:
            raise DataMismatch(
                f"data {name} on this node ({data_dir}) has checksum {checksum[:16]}, but the sweep's driver prepared "
                f"{expected[:16]}: the nodes hold different data; prepare it the same way on every node, or give "
                "the sweep an object --storage so that the driver ships its own copy"
            )
        return data_dir, checksum

    def results_table(self) -> ResultsTable:
        return ResultsTable(Path(self.sweep_dir))

    def describe(self, trial_id: str, params: dict[str, Any]) -> dict[str, Any]:
        """The trial's resolved config (written to sweep_dir/configs/), the command that trains it again, its MLflow
        run name and tags (`tuning.naming`), and its predicted memory peaks."""
        cfg = self.resolve(params)
        path = Path(self.sweep_dir) / CONFIGS / f"{trial_id}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump_yaml(cfg))
        args = ["--config", str(path), "--out", f"runs/{Path(self.sweep_dir).name}/{trial_id}"]
        workers = self.workers(params)
        if workers > 1:
            args += ["--workers", str(workers)]
        command = command_line("study.train", args)
        config = flatten(cfg)
        applying, group = applying_keys(config), seed_free_group(config, workers)
        tags = trial_tags(command, str(path), params.get(SEED_OF), group=group,
                          scientific=self.scientific(params, applying))  # fmt: skip
        return {
            "config": config,
            "params": applying,
            "config_path": str(path),
            "command": command,
            "run_name": trial_run_name(self.number(trial_id), params, first=self.scientific_keys()),
            "tags": tags,
            **{f"predicted_{k}": [round(p.mb, 1), round(p.error, 1)] for k, p in self.predicted(params, cfg).items()},
        }

    def scientific_keys(self) -> list[str]:
        return [p.key for p in self.study.space.params if p.role == "scientific"]

    def scientific(self, params: dict[str, Any], applying: dict[str, Any]) -> str:
        """The trial's values of the study's scientific keys that apply to it: 'r_lstm train.truncation=14'."""
        values = {k: applying[k] if k in applying else params[k] for k in self.scientific_keys()
                  if k in applying or k in params}  # fmt: skip
        return trial_summary(values)

    def number(self, trial_id: str) -> int:
        """The trial's place in the sweep, from 1, in the order trials started (its row in the results table; the
        next one for a trial not in it yet)."""
        rows = list(self.results_table().rows)
        return rows.index(trial_id) + 1 if trial_id in rows else len(rows) + 1
