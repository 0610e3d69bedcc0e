"""What a sweep checks and prepares before Ray starts: its datasets (with stand-ins for those that cannot be had),
the earlier sweeps it warm-starts from, and its memory model and budget. Ray-free."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from study.cost.memory_model import MemoryModel, default_model
from study.driver.record import stored_study
from study.results.sweep_dir import SweepInfo, find_sweep
from study.run.config import parse_override
from study.spec.definition import WORKERS, SpecError, Study
from study.spec.parse import parse_study
from study.spec.stand_ins import swap_datasets


def prepare_data(study: Study, data_dir: Path, *, stand_ins: bool = True) -> tuple[str, dict[str, str]]:
    """Prepare every dataset the space can reach, here and once (not racing in every trial): their checksums,
    and the stand-ins swapped in (with `stand_ins`) for datasets that cannot be had, such as CIFAR-10 offline."""
    from data import DATASETS, DatasetError
    from study.run.provenance import data_checksum

    names = {study.config_for({}).data.name}
    for param in study.space.params:
        if param.key == "data.name":
            names |= set(param.values)
    checksums, swaps = [], {}
    for name in sorted(names):
        try:
            checksums.append(f"{name}:{data_checksum(study.config_for({'data.name': name}).data, data_dir)}")
        except DatasetError as err:
            stand_in = next((n for n, info in DATASETS.items() if info.stands_in_for == name), None)
            if stand_in is None:
                raise
            if not stand_ins:
                raise DatasetError(
                    f"{err}\nWhere {name} cannot be had, its stand-in {stand_in} can take its place: drop "
                    f"--no-stand-ins, or --set data.name={stand_in} for every trial"
                ) from err
            print(f"data: {name} cannot be had ({str(err).splitlines()[0]}); its stand-in {stand_in} takes its place, "
                  "labelled so in the results, MLflow and the report", flush=True)  # fmt: skip
            swaps[name] = stand_in
            checksums.append(f"{stand_in}:{data_checksum(study.config_for({'data.name': stand_in}).data, data_dir)}")
    return " ".join(sorted(set(checksums))), swaps


def _own_gpu_budget(study: Study, joins_cluster: bool) -> float | None:
    """This machine's GPU memory times a trial's share of a GPU, or None (no GPU here, or a cluster's)."""
    import torch

    if not torch.cuda.is_available():
        return None
    if joins_cluster:
        print("memory: no default budget on a cluster (this machine's GPU need not be the workers'); give "
              "--memory-budget-mb the workers' GPU memory times resources.gpus", flush=True)  # fmt: skip
        return None
    return torch.cuda.get_device_properties(0).total_memory / 2**20 * min(study.resources.gpus, 1.0)


def with_stand_ins(study: Study, data: dict[str, Any], swaps: dict[str, str]) -> Study:
    """The study (and the sweep record that rebuilds it on --resume) with the stand-ins swapped in."""
    overrides = []
    for text in data["overrides"]:
        key, value = parse_override(text)
        overrides.append(f"{key}={swaps[value]}" if key == "data.name" and value in swaps else text)
    spec = swap_datasets(study.raw, swaps)
    data.update(spec=spec, overrides=overrides, stand_ins=swaps)
    return parse_study(spec, overrides, trials=data["trials"], smoke=data["smoke"])


def warm_start(study: Study, sweep: SweepInfo, names: list[str], sweeps_dir: Path) -> Any:
    """The earlier sweeps' finished trials that fit this study's space, checked before anything starts; the
    ones that do not fit are listed."""
    from tuning.warm_start import WarmStartError, collect

    sources = [find_sweep(name, sweeps_dir) for name in names]
    for source in sources:
        if source.data["objectives"] != sweep.data["objectives"]:
            raise SpecError(
                f"--warm-start {source.data['name']}: it optimised {source.data['objectives']}, this study "
                f"{sweep.data['objectives']}"
            )
        differences = fixed_differences(study, source)
        if differences:  # its values were measured on another problem (epochs, data, smoke test, ...)
            raise SpecError(
                f"--warm-start {source.data['name']}: its fixed config differs from this study's: "
                + ", ".join(differences[:8]) + (" …" if len(differences) > 8 else "")
            )
    try:
        warm = collect(study.space, [(s.data["name"], s.path) for s in sources], [o.mode for o in study.objectives])
    except WarmStartError as err:
        raise SpecError(str(err)) from err
    print(f"warm start: {len(warm.trials)} finished trial(s) of {', '.join(names)} fit this space; "
          f"{len(warm.skipped)} do not", flush=True)  # fmt: skip
    for line in warm.skipped:
        print(f"  skipped {line}", flush=True)
    return warm


def fixed_differences(study: Study, source: SweepInfo) -> list[str]:
    """Config values that neither study searches and that differ between them (the seed aside)."""
    theirs = stored_study(source)
    searched = {p.key for p in (*study.space.params, *theirs.space.params)} | {"train.seed", WORKERS}
    ours, base = study.space.base, theirs.space.base
    return [f"{k}: {base.get(k)!r} there, {ours.get(k)!r} here" for k in sorted(set(ours) | set(base))
            if k not in searched and ours.get(k) != base.get(k)]  # fmt: skip


@dataclass(frozen=True)
class MemorySetup:
    """The memory model a sweep predicts its trials' peaks with, and the budget it refuses them above."""

    model: MemoryModel | None  # predicts each trial's peaks; None where no model exists for the study's device
    budget_mb: float | None  # trials predicted above it are refused before they start


def memory_setup(
    study: Study, data: dict[str, Any], model_file: Path | None, budget_mb: float | None, *, joins_cluster: bool = False
) -> MemorySetup:
    """The memory model that predicts each trial's peaks (where one exists for the study's device) and the budget
    above which trials are refused before they start (`--memory-model`, `--memory-budget-mb`); kept in sweep.json
    for --resume. The default budget on GPU is this machine's GPU, so only where the trials run here: a driver
    joining a cluster (`joins_cluster`) may have another GPU than the workers, or none."""
    device = "cuda" if study.resources.gpus else "cpu"
    path = model_file or (Path(data["memory_model"]) if data.get("memory_model") else default_model(device))
    budget = budget_mb or data.get("memory_budget_mb")
    if budget is None and device == "cuda" and path.exists():
        budget = _own_gpu_budget(study, joins_cluster)
    if not path.exists():
        if model_file is not None:
            raise SpecError(f"--memory-model: no file {path}")
        if budget is not None:
            raise SpecError(
                f"--memory-budget-mb: no memory model at {path}; fit one to finished sweeps measured on {device} with "
                f"python -m study.memory fit --sweep SWEEP ... --device {device} --out {path}"
            )
        return MemorySetup(None, None)
    try:
        model = MemoryModel.load(path)
    except ValueError as err:
        raise SpecError(f"--memory-model: {err}") from err
    data.update(memory_model=str(path), memory_budget_mb=budget)
    line = f"memory: model {path} (training peak within {model.train.relative_error:.0%} on {model.train.runs} runs)"
    print(line + (f", budget {budget:,.0f} MB" if budget else ", no budget"), flush=True)
    return MemorySetup(model, budget)
