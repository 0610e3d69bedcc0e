"""Studies are data: a YAML spec in `study/specs/` parsed and checked here, before Ray starts.

A spec names a base config, a search space split into scientific / nuisance / fixed parameters (the tuning
playbook's terms), the objective(s), the budget (trials, concurrency), the scheduler, the resources of a trial
and a seed. Anything that would fail once trials run is refused with a `SpecError` naming its key: unknown keys,
unknown metrics, an empty space, ranges that produce an invalid config, impossible resources.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import itertools
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from study.config import (
    ConfigError,
    RunConfig,
    check_keys,
    config_from_dict,
    flatten,
    parse_override,
    sequence_length,
    yaml_problem,
)
from study.space import ROLES, Param, Space, SpaceError, implied_overrides, parse_param

SPECS_DIR = Path(__file__).parent / "specs"
CONFIGS_DIR = Path(__file__).parent / "configs"

# What every epoch reports (models.loop.fit) and a study may optimise. The test split is never a target.
EPOCH_METRICS = (
    "val/accuracy", "val/loss", "train/loss", "train/loss_main", "train/loss_aux", "train/accuracy",
    "tokens_per_second", "peak_memory_mb", "eval_peak_memory_mb", "epoch_seconds",
)  # fmt: skip
TOP_KEYS = (
    "name", "description", "base", "space", "points", "objective", "objectives", "trials", "concurrency",
    "scheduler", "resources", "seed", "scales",
)  # fmt: skip
# What a named scale (`scales.NAME`, chosen with --scale) may change; mappings merge into the spec's, the rest replace.
SCALE_KEYS = ("description", "set", "base", "space", "points", "trials", "concurrency", "scheduler", "resources")
# Point keys that are not config keys: how many workers a trial runs on (searchable), and which trial a
# seed re-run repeats (study.robust).
WORKERS = "resources.workers"
SEED_OF = "seed_of"
SMOKE_VALUES = {"train.epochs": 1, "data.limit_train": 256, "data.limit_eval": 256}
SMOKE_TRIALS = 3
MAX_CORNERS = 4096  # combinations of range ends checked together; beyond that each range is checked alone


def is_rerun(row: Mapping[str, Any]) -> bool:
    """Whether a results row is a seed re-run of another trial (`SEED_OF` among its values)."""
    return SEED_OF in (row.get("params") or {})


class SpecError(ConfigError):
    """A study spec that cannot run; the message names the offending key."""


@dataclass(frozen=True)
class Objective:
    metric: str
    mode: Literal["max", "min"]


@dataclass(frozen=True)
class Scheduler:
    kind: Literal["asha", "fifo"] = "asha"
    grace_period: int = 1  # supervised epochs before ASHA may stop a trial
    reduction_factor: int = 2


@dataclass(frozen=True)
class Resources:
    cpus: float = 1.0  # per worker (a one-worker trial: per trial)
    gpus: float = 0.0  # per worker; fractions (0.25, 0.5) pack several trials on one GPU
    workers: int = 1  # data-parallel Ray Train workers per trial


@dataclass(frozen=True)
class Study:
    name: str
    description: str
    base: Mapping[str, Any]  # the raw config tree, fixed values applied
    space: Space
    points: tuple[dict[str, Any], ...]  # evaluated first, in order
    objectives: tuple[Objective, ...]
    trials: int
    concurrency: int
    scheduler: Scheduler
    resources: Resources
    seed: int
    raw: Mapping[str, Any]  # the spec as read, with the base config inlined: enough to rebuild this study
    exact_points: bool = False  # the study runs its points and nothing else (no `trials` given)

    def config_for(self, point: Mapping[str, Any]) -> RunConfig:
        """The validated config of one sampled point."""
        values = {**config_values(point), **implied_overrides(point, self.space.base)}
        return config_from_dict(dict(self.base), values=values)

    def workers_for(self, point: Mapping[str, Any]) -> int:
        """Data-parallel workers of one sampled point: searched (`resources.workers` in the space) or the spec's."""
        return int(point.get(WORKERS, self.resources.workers))

    @property
    def max_workers(self) -> int:
        searched = [p for p in self.space.params if p.key == WORKERS]
        return max(searched[0].values) if searched else self.resources.workers

    @property
    def max_supervised_epochs(self) -> int:
        epochs = [p for p in self.space.params if p.key == "train.epochs"]
        return int(epochs[0].extremes()[-1]) if epochs else int(self.space.base["train.epochs"])

    @property
    def spec_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.raw, sort_keys=True, default=str).encode()).hexdigest()[:16]


def config_values(point: Mapping[str, Any]) -> dict[str, Any]:
    """A sampled point without its keys that are not config keys: the config values it sets."""
    return {k: v for k, v in point.items() if k not in (WORKERS, SEED_OF)}


def find_spec(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise SpecError(f"--study: no spec file {path}")
        return path
    named = SPECS_DIR / f"{name_or_path}.yaml"
    if not named.is_file():
        known = ", ".join(sorted(p.stem for p in SPECS_DIR.glob("*.yaml")))
        raise SpecError(f"--study: no study named {name_or_path!r}; the studies in {SPECS_DIR} are: {known}")
    return named


def read_spec(path: Path) -> dict[str, Any]:
    """The raw spec of a YAML file, with a named base config inlined (so a stored copy is self-contained)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SpecError(f"spec {path} is not valid YAML: {yaml_problem(err)}") from err
    if not isinstance(raw, dict):
        raise SpecError(f"spec {path} must hold a mapping with keys such as name, base, space, objective")
    base = raw.get("base", {})
    if isinstance(base, str):
        raw["base"] = _read_base(base, path.parent)
    return raw


def _read_base(name: str, spec_dir: Path) -> dict[str, Any]:
    for candidate in (CONFIGS_DIR / name, spec_dir / name, Path(name)):
        if candidate.is_file():
            tree = yaml.safe_load(candidate.read_text()) or {}
            if not isinstance(tree, dict):
                raise SpecError(f"base: {candidate} must hold a config mapping (model/aux/train/data)")
            return tree
    shipped = ", ".join(sorted(p.name for p in CONFIGS_DIR.glob("*.yaml")))
    raise SpecError(
        f"base: no config file {name!r} in {CONFIGS_DIR} or {spec_dir}; the shipped configs: {shipped} "
        "(or give the config inline as a mapping)"
    )


def load_study(
    name_or_path: str,
    overrides: list[str] = (),
    *,
    trials: int | None = None,
    smoke: bool = False,
    scale: str | None = None,
) -> Study:
    """The checked study of a spec name (under study/specs/) or path, at `scale`, with CLI changes applied."""
    return parse_study(read_spec(find_spec(name_or_path)), overrides, trials=trials, smoke=smoke, scale=scale)


def apply_scale(raw: Mapping[str, Any], scale: str | None) -> dict[str, Any]:
    """The spec at a named scale, self-contained (no `scales` left, so a stored copy rebuilds it as run).

    `scales.SCALE` is laid over the spec: mappings merge key by key, other values replace. Its `set` fixes config
    keys as `--set` does (they leave the space; points that disagree are dropped), and its `description` says what
    was scaled down; it leads the study's description, and the name becomes NAME-SCALE, so every output says so.
    """
    scales = raw.get("scales", {})
    if not isinstance(scales, Mapping) or not all(isinstance(v, Mapping) for v in scales.values()):
        raise SpecError("scales: expected a mapping of scale names to spec changes")
    for name, overlay in scales.items():
        unknown = sorted(set(overlay) - set(SCALE_KEYS))
        if unknown:
            raise SpecError(f"scales.{name}.{unknown[0]}: unknown; valid: {', '.join(SCALE_KEYS)}")
    spec = {k: v for k, v in raw.items() if k != "scales"}
    if scale is None:
        return spec
    if scale not in scales:
        known = ", ".join(sorted(scales)) or "none"
        raise SpecError(f"--scale: study {raw.get('name')!r} has no scale {scale!r}; its scales: {known}")
    overlay = scales[scale]
    spec = _merged(spec, {k: v for k, v in overlay.items() if k not in ("set", "description", "space")})
    fixed = dict(_mapping(overlay.get("set"), f"scales.{scale}.set"))
    space = {role: dict(_mapping(entries, f"space.{role}")) for role, entries in spec.get("space", {}).items()}
    for role, entries in _mapping(overlay.get("space"), f"scales.{scale}.space").items():
        # A domain is replaced whole: {choice: …} over {float: …, log: …} must not keep `log`.
        space[role] = {**space.get(role, {}), **_mapping(entries, f"scales.{scale}.space.{role}")}
    for role in ROLES:
        for key in fixed:
            space.get(role, {}).pop(key, None)
    space["fixed"] = {**space.get("fixed", {}), **fixed}
    spec["space"] = space
    if isinstance(spec.get("points"), list):
        spec["points"] = [
            {k: v for k, v in point.items() if k not in fixed}
            for point in spec["points"]
            if not (isinstance(point, Mapping) and any(k in fixed and point[k] != fixed[k] for k in point))
        ]
    spec["name"] = f"{spec.get('name')}-{scale}"
    spec["description"] = f"[scale {scale}] {overlay.get('description', '').strip()}\n{spec.get('description', '')}"
    return spec


def swap_datasets(raw: Mapping[str, Any], swaps: Mapping[str, str]) -> dict[str, Any]:
    """A scaled spec (no `scales`) with every `data.name` value in `swaps` replaced, and the replacement said
    first in its description: the base, fixed values, choices and points."""

    def swap(value: Any) -> Any:
        return swaps.get(value, value) if isinstance(value, str) else value

    spec = copy.deepcopy(dict(raw))
    base = spec.get("base")
    if isinstance(base, dict) and isinstance(base.get("data"), dict) and "name" in base["data"]:
        base["data"]["name"] = swap(base["data"]["name"])
    for role, entries in (spec.get("space") or {}).items():
        if isinstance(entries, dict) and "data.name" in entries:
            domain = entries["data.name"]
            if role == "fixed":
                entries["data.name"] = swap(domain)
            elif isinstance(domain, dict) and isinstance(domain.get("choice"), list):
                domain["choice"] = list(dict.fromkeys(swap(v) for v in domain["choice"]))
    if isinstance(spec.get("points"), list):
        spec["points"] = [
            {k: swap(v) if k == "data.name" else v for k, v in point.items()} if isinstance(point, dict) else point
            for point in spec["points"]
        ]
    said = ", ".join(f"{new} stands in for {old}" for old, new in swaps.items())
    spec["description"] = f"[stand-in: {said}, which cannot be had here] {spec.get('description', '')}"
    return spec


def _merged(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merged(merged[key], value)
        else:
            merged[key] = value
    return merged


def parse_study(
    raw: Mapping[str, Any],
    overrides: list[str] = (),
    *,
    trials: int | None = None,
    smoke: bool = False,
    scale: str | None = None,
) -> Study:
    """Check a raw spec and build its Study at `scale` (see `apply_scale`; the Study's `raw` is the scaled spec).

    `overrides` (`--set KEY=VALUE`) fix config keys: a key the spec searches leaves the space, and first
    points that disagree with it are dropped. `smoke` fixes 1 epoch on 256 examples and at most 3 trials.
    """
    raw = apply_scale(raw, scale)
    unknown = sorted(set(raw) - set(TOP_KEYS))
    if unknown:
        raise SpecError(f"unknown key {unknown[0]!r}; valid keys: {', '.join(TOP_KEYS)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name or not all(c.isalnum() or c in "-_" for c in name):
        raise SpecError(f"name: expected a name of letters, digits, '-' and '_', got {name!r}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise SpecError("description: expected text")
    base_tree = raw.get("base", {})
    if not isinstance(base_tree, dict):
        raise SpecError(f"base: expected a config file name or a mapping, got {base_tree!r}")

    space_raw = raw.get("space")
    if not isinstance(space_raw, Mapping):
        raise SpecError("space: expected a mapping with scientific, nuisance and fixed parameters")
    bad = sorted(set(space_raw) - {*ROLES, "fixed"})
    if bad:
        raise SpecError(f"space.{bad[0]}: unknown; valid: scientific, nuisance, fixed")
    fixed = dict(_mapping(space_raw.get("fixed"), "space.fixed"))
    params: dict[str, Param] = {}
    for role in ROLES:
        for key, domain in _mapping(space_raw.get(role), f"space.{role}").items():
            where = f"space.{role}.{key}"
            if key in params or key in fixed:
                raise SpecError(f"{where}: {key} appears more than once in the space")
            try:
                params[key] = parse_param(str(key), domain, role, where)
            except SpaceError as err:
                raise SpecError(str(err)) from err

    # CLI changes fix keys: they leave the space and win over the spec's fixed values.
    cli: dict[str, Any] = {}
    for text in overrides:
        key, value = parse_override(text)
        if key.split(".")[0] not in ("model", "aux", "train", "data"):
            raise SpecError(f"--set {key}: only config keys (model.*, aux.*, train.*, data.*) can be set")
        cli[key] = value
    if smoke:
        pretrain = {**_mapping(base_tree.get("aux"), "base.aux"), **fixed}.get("pretrain_epochs", 1)
        smoke_values = {**SMOKE_VALUES, "aux.pretrain_epochs": min(fixed.get("aux.pretrain_epochs", pretrain), 1)}
        cli = {**smoke_values, **cli}
    for key in cli:
        params.pop(key, None)
    fixed.update(cli)
    if not params:
        raise SpecError("space: nothing to search; give at least one scientific or nuisance parameter")

    try:
        check_keys(base_tree)
    except ConfigError as err:
        raise SpecError(f"base: {err}") from err
    try:
        base_cfg = config_from_dict(base_tree, values=fixed)
    except ConfigError as err:
        where = "--set" if any(str(k) in str(err) for k in cli) else "space.fixed"
        raise SpecError(f"{where}: {err}") from err
    resources = _resources(raw.get("resources", {}))
    base = {**flatten(base_cfg), WORKERS: resources.workers}
    if WORKERS in params:
        workers = params[WORKERS]
        if workers.kind != "choice" or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                                               for v in workers.values):
            raise SpecError(f"space.{workers.role}.{WORKERS}: expected {{choice: [...]}} of whole numbers >= 1")
    for key, param in params.items():
        if key not in base:
            raise SpecError(f"space.{param.role}.{key}: {_unknown_key(key, base)}")
        for condition, _ in param.when:
            if condition not in base:
                raise SpecError(f"space.{param.role}.{key}.when.{condition}: {_unknown_key(condition, base)}")
    space = Space(params=tuple(params.values()), base=base)
    _check_ranges(space, base_tree, fixed)

    objectives = _objectives(raw)
    val_objectives = [o.metric for o in objectives if o.metric.startswith("val/") or o.metric == "eval_peak_memory_mb"]
    if "data.validation" in params and val_objectives:
        raise SpecError(f"space: data.validation is searched, but {val_objectives[0]} needs a validation split")
    if base_cfg.data.validation == "none":
        for objective in objectives:
            if objective.metric.startswith("val/") or objective.metric == "eval_peak_memory_mb":
                raise SpecError(
                    f"objective.metric: {objective.metric} does not exist with data.validation none (no validation "
                    "split); optimise a train/* metric, or hold out a validation split"
                )
    scheduler = _scheduler(raw.get("scheduler", {}), objectives)
    if trials is None:
        trial_count = _positive_int(raw.get("trials", 10), "trials")
    else:
        trial_count = _positive_int(trials, "--trials")
    if smoke:
        trial_count = min(trial_count, SMOKE_TRIALS)
    study = Study(
        name=name,
        description=description.strip(),
        base={**base_tree},
        space=space,
        points=(),
        objectives=objectives,
        trials=trial_count,
        concurrency=_positive_int(raw.get("concurrency", 1), "concurrency"),
        scheduler=scheduler,
        resources=resources,
        seed=_int(raw.get("seed", 0), "seed"),
        raw={k: v for k, v in raw.items()},
    )
    study = _with_fixed(study, fixed)
    points = _points(raw.get("points"), study, cli, fixed)
    if trials is None and "trials" not in raw and raw.get("points") is not None:  # run exactly the given points
        study = dataclasses.replace(
            study, trials=min(len(points), SMOKE_TRIALS) if smoke else len(points), exact_points=True
        )
    if study.scheduler.kind == "asha" and study.scheduler.grace_period > study.max_supervised_epochs:
        if not smoke:
            raise SpecError(
                f"scheduler.grace_period: {study.scheduler.grace_period} is more than the "
                f"{study.max_supervised_epochs} supervised epochs of a trial; use at most {study.max_supervised_epochs}"
            )
        study = dataclasses.replace(study, scheduler=Scheduler("asha", 1, study.scheduler.reduction_factor))
    return dataclasses.replace(study, points=points)


def _with_fixed(study: Study, fixed: Mapping[str, Any]) -> Study:
    """The base tree with the fixed values written in, so `config_for` needs only the sampled point."""
    tree = {k: dict(v) if isinstance(v, dict) else v for k, v in study.base.items()}
    for key, value in fixed.items():
        section, _, leaf = key.partition(".")
        tree.setdefault(section, {})[leaf] = value
    return dataclasses.replace(study, base=tree)


def _mapping(raw: Any, where: str) -> Mapping[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise SpecError(f"{where}: expected a mapping of dotted config keys, got {raw!r}")
    return raw


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise SpecError(f"{where}: expected a whole number >= 1, got {value!r}")
    return value


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(f"{where}: expected a whole number, got {value!r}")
    return value


def _check_ranges(space: Space, base_tree: Mapping[str, Any], fixed: Mapping[str, Any]) -> None:
    """Every combination of range ends (and choices) must give a valid config: then every point inside does.

    Ranges are monotone in what validation checks (a segment fits or not, a truncation is inside the sequence
    or not), so the ends bound the whole range.
    """
    params = space.ordered()
    corners = math.prod(len(p.extremes()) for p in params)
    if corners <= MAX_CORNERS:
        combos = itertools.product(*(p.extremes() for p in params))
        candidates = [dict(zip([p.key for p in params], combo)) for combo in combos]
    else:
        candidates = [{p.key: v} for p in params for v in p.extremes()]
    for candidate in candidates:
        point = space.restrict(candidate)
        values = {**fixed, **config_values(point), **implied_overrides(point, space.base)}
        try:
            cfg = config_from_dict(dict(base_tree), values=values)
            _check_truncations(cfg)
        except ConfigError as err:
            key = next((k for k in point if k in str(err)), next(iter(point), "space"))
            role = next(p.role for p in params if p.key == key) if key in point else "fixed"
            raise SpecError(
                f"space.{role}.{key}: the point {point} gives an invalid config: {err}"
            ) from err


def _unknown_key(key: str, base: Mapping[str, Any]) -> str:
    """Why `key` cannot be searched, with the keys that can: those of its section, else the sections."""
    section = key.partition(".")[0]
    known = [k.partition(".")[2] for k in base if k.startswith(f"{section}.") and k != WORKERS]
    if known:
        return f"unknown config key {key!r}; valid keys of {section}: {', '.join(known)}"
    return f"unknown config key {key!r}; searchable keys are model.*, aux.*, train.*, data.* and {WORKERS}"


def _check_truncations(cfg: RunConfig) -> None:
    """Truncations longer than the sequence mean nothing (the spec's ranges would waste trials)."""
    steps = sequence_length(cfg.data)
    if cfg.train.truncation is not None and cfg.train.truncation > steps:
        raise ConfigError(
            f"train.truncation: {cfg.train.truncation} is longer than the {steps}-step sequence; use at most {steps}, "
            "or null for full BPTT"
        )
    if cfg.model.kind in ("r_lstm", "p_lstm") and cfg.aux.truncation > steps:
        raise ConfigError(
            f"aux.truncation: {cfg.aux.truncation} is longer than the {steps}-step sequence; use at most {steps}"
        )


def _objectives(raw: Mapping[str, Any]) -> tuple[Objective, ...]:
    if "objective" in raw and "objectives" in raw:
        raise SpecError("objectives: give either objective (one) or objectives (a list), not both")
    if "objectives" in raw:
        items, where = raw["objectives"], "objectives"
        if not isinstance(items, list) or not items:
            raise SpecError("objectives: expected a non-empty list of {metric, mode}")
    else:
        items, where = [raw.get("objective", {"metric": "val/accuracy", "mode": "max"})], "objective"
    objectives = []
    for i, item in enumerate(items):
        at = f"{where}[{i}]" if where == "objectives" else where
        if not isinstance(item, Mapping) or set(item) - {"metric", "mode"}:
            raise SpecError(f"{at}: expected {{metric: NAME, mode: max|min}}, got {item!r}")
        metric, mode = item.get("metric"), item.get("mode")
        if metric in ("test_accuracy", "test/accuracy"):
            raise SpecError(f"{at}.metric: the test split is never a selection target; use val/accuracy")
        if metric not in EPOCH_METRICS:
            raise SpecError(f"{at}.metric: unknown metric {metric!r}; known: {', '.join(EPOCH_METRICS)}")
        if mode not in ("max", "min"):
            raise SpecError(f"{at}.mode: expected max or min, got {mode!r}")
        objectives.append(Objective(metric, mode))
    if len({o.metric for o in objectives}) != len(objectives):
        raise SpecError(f"{where}: a metric appears twice")
    return tuple(objectives)


def _scheduler(raw: Any, objectives: tuple[Objective, ...]) -> Scheduler:
    if not isinstance(raw, Mapping):
        raise SpecError(f"scheduler: expected a mapping such as {{kind: asha}}, got {raw!r}")
    unknown = sorted(set(raw) - {"kind", "grace_period", "reduction_factor"})
    if unknown:
        raise SpecError(f"scheduler.{unknown[0]}: unknown; valid: kind, grace_period, reduction_factor")
    default = "asha" if len(objectives) == 1 else "fifo"
    kind = raw.get("kind", default)
    if kind not in ("asha", "fifo"):
        raise SpecError(f"scheduler.kind: expected asha or fifo, got {kind!r}")
    if kind == "asha" and len(objectives) > 1:
        # ASHA would stop trials on one metric, and Optuna would record them COMPLETE with early values.
        raise SpecError("scheduler.kind: a multi-objective study runs without early stopping; use fifo")
    grace = _positive_int(raw.get("grace_period", 1), "scheduler.grace_period")
    factor = _positive_int(raw.get("reduction_factor", 2), "scheduler.reduction_factor")
    if factor < 2:
        raise SpecError(f"scheduler.reduction_factor: must be >= 2, got {factor}")
    return Scheduler(kind, grace, factor)


def _resources(raw: Any) -> Resources:
    if not isinstance(raw, Mapping):
        raise SpecError(f"resources: expected a mapping {{cpus, gpus, workers}}, got {raw!r}")
    unknown = sorted(set(raw) - {"cpus", "gpus", "workers"})
    if unknown:
        raise SpecError(f"resources.{unknown[0]}: unknown; valid: cpus, gpus, workers")
    cpus, gpus = raw.get("cpus", 1), raw.get("gpus", 0)
    for key, value in (("cpus", cpus), ("gpus", gpus)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise SpecError(f"resources.{key}: expected a number >= 0, got {value!r}")
    if cpus <= 0:
        raise SpecError(f"resources.cpus: must be above 0 (a trial needs some CPU), got {cpus!r}")
    if gpus > 1 and not float(gpus).is_integer():
        raise SpecError(f"resources.gpus: a fraction of a GPU must be at most 1 (Ray's rule), got {gpus}")
    workers = _positive_int(raw.get("workers", 1), "resources.workers")
    return Resources(float(cpus), float(gpus), workers)


def _points(
    raw: Any, study: Study, cli: Mapping[str, Any], fixed: Mapping[str, Any]
) -> tuple[dict[str, Any], ...]:
    """The points evaluated first: the spec's, else the base config's values of the searched keys."""
    space = study.space
    if raw is None:
        base_point = {p.key: space.base[p.key] for p in space.params if p.contains(space.base[p.key])}
        return (space.restrict(base_point),) if base_point else ()
    keys = {p.key: p for p in space.params}
    if isinstance(raw, Mapping):
        raw = _grid(raw, keys, fixed)
    if not isinstance(raw, list):
        raise SpecError(f"points: expected a list of {{KEY: VALUE}} mappings or {{grid: [KEYS]}}, got {raw!r}")
    points = []
    for i, point in enumerate(raw):
        if not isinstance(point, Mapping):
            raise SpecError(f"points[{i}]: expected a mapping of searched keys to values, got {point!r}")
        if any(k in cli and point[k] != cli[k] for k in point):
            continue  # a CLI change fixed this key to another value
        point = {k: v for k, v in point.items() if k not in cli}
        for key, value in point.items():
            if key not in keys:
                raise SpecError(f"points[{i}].{key}: not a searched key; searched: {', '.join(keys)}")
            if not keys[key].contains(value):
                raise SpecError(f"points[{i}].{key}: {value!r} is outside the space {keys[key].domain()}")
        # A searched key the point leaves out takes its base value, not a value Optuna would sample for it.
        point = {**{p.key: space.base[p.key] for p in space.params if p.contains(space.base[p.key])}, **point}
        try:
            study.config_for(space.restrict(point))
        except ConfigError as err:
            raise SpecError(f"points[{i}]: {err}") from err
        restricted = space.restrict(point)
        if restricted not in points:  # grid points that differ only in keys that do not apply
            points.append(restricted)
    return tuple(points)


def _grid(raw: Mapping[str, Any], keys: Mapping[str, Param], fixed: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`points: {grid: [KEY, ...]}`: every combination of the listed choice parameters, first key slowest. Keys
    that a scale or --set fixed take their one value."""
    if set(raw) != {"grid"} or not isinstance(raw["grid"], list) or not raw["grid"]:
        raise SpecError(f"points: expected {{grid: [KEY, ...]}} naming searched choice parameters, got {raw!r}")
    grid = [key for key in raw["grid"] if key not in fixed]
    for key in grid:
        if key not in keys or keys[key].kind != "choice":
            choices = ", ".join(k for k, p in keys.items() if p.kind == "choice") or "none"
            raise SpecError(f"points.grid: {key!r} is not a searched choice parameter; the searched choices: {choices}")
    return [dict(zip(grid, combo)) for combo in itertools.product(*(keys[k].values for k in grid))]
