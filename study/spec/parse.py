"""Studies are data: a YAML spec in `study/specs/` parsed and checked here, before Ray starts.

A spec names a base config, a search space split into scientific / nuisance / fixed parameters (the tuning
playbook's terms), the objective(s), the budget (trials, concurrency), the scheduler, the resources of a trial
and a seed. Anything that would fail once trials run is refused with a `SpecError` naming its key: unknown keys,
unknown metrics, an empty space, ranges that produce an invalid config, impossible resources.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from study.run.config import ConfigError, RunConfig, check_keys, config_from_dict, flatten, parse_override
from study.spec.definition import WORKERS, Objective, Resources, Scheduler, SpecError, Study
from study.spec.domains import ROLES, Param, SpaceError, parse_param
from study.spec.files import find_spec, read_spec
from study.spec.points import first_points
from study.spec.ranges import check_ranges, unknown_key
from study.spec.scales import apply_scale
from study.spec.settings import mapping, objectives, positive_int, resources, scheduler, whole_int
from study.spec.space import Space

TOP_KEYS = (
    "name", "description", "base", "space", "points", "objective", "objectives", "trials", "concurrency",
    "scheduler", "resources", "seed", "scales",
)  # fmt: skip
SMOKE_VALUES = {"train.epochs": 1, "data.limit_train": 256, "data.limit_eval": 256}
SMOKE_TRIALS = 3


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
    name, description, base_tree = _header(raw)
    params, fixed = _searched(raw.get("space"))
    # CLI changes fix keys: they leave the space and win over the spec's fixed values.
    cli = _cli_values(overrides, smoke, base_tree, fixed)
    for key in cli:
        params.pop(key, None)
    fixed.update(cli)
    if not params:
        raise SpecError("space: nothing to search; give at least one scientific or nuisance parameter")
    base_cfg = _base_config(base_tree, fixed, cli)
    spec_resources = resources(raw.get("resources", {}))
    space = _space(params, base_cfg, spec_resources)
    check_ranges(space, base_tree, fixed)
    goals = _objectives_for(raw, params, base_cfg)
    spec_scheduler = scheduler(raw.get("scheduler", {}), goals)
    trial_count = positive_int(raw.get("trials", 10), "trials") if trials is None else positive_int(trials, "--trials")
    study = Study(
        name=name,
        description=description.strip(),
        base=_with_fixed(base_tree, fixed),
        space=space,
        points=(),
        objectives=goals,
        trials=min(trial_count, SMOKE_TRIALS) if smoke else trial_count,
        concurrency=positive_int(raw.get("concurrency", 1), "concurrency"),
        scheduler=spec_scheduler,
        resources=spec_resources,
        seed=whole_int(raw.get("seed", 0), "seed"),
        raw={k: v for k, v in raw.items()},
    )
    points = first_points(raw.get("points"), study, cli, fixed)
    if trials is None and "trials" not in raw and raw.get("points") is not None:  # run exactly the given points
        study = dataclasses.replace(
            study, trials=min(len(points), SMOKE_TRIALS) if smoke else len(points), exact_points=True
        )
    if smoke:  # only the points it runs: Optuna would keep the rest enqueued, waiting for trials that never come
        points = points[: study.trials]
    return dataclasses.replace(_grace_checked(study, smoke), points=points)


def _header(raw: Mapping[str, Any]) -> tuple[str, str, dict[str, Any]]:
    """The spec's top-level keys checked: its name, description and base config tree."""
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
    return name, description, base_tree


def _searched(space_raw: Any) -> tuple[dict[str, Param], dict[str, Any]]:
    """The searched parameters by key (scientific, then nuisance) and the fixed values of `space`."""
    if not isinstance(space_raw, Mapping):
        raise SpecError("space: expected a mapping with scientific, nuisance and fixed parameters")
    bad = sorted(set(space_raw) - {*ROLES, "fixed"})
    if bad:
        raise SpecError(f"space.{bad[0]}: unknown; valid: scientific, nuisance, fixed")
    fixed = dict(mapping(space_raw.get("fixed"), "space.fixed"))
    params: dict[str, Param] = {}
    for role in ROLES:
        for key, domain in mapping(space_raw.get(role), f"space.{role}").items():
            where = f"space.{role}.{key}"
            if key in params or key in fixed:
                raise SpecError(f"{where}: {key} appears more than once in the space")
            try:
                params[key] = parse_param(str(key), domain, role, where)
            except SpaceError as err:
                raise SpecError(str(err)) from err
    return params, fixed


def _cli_values(overrides: list[str], smoke: bool, base_tree: Mapping[str, Any], fixed: Mapping[str, Any]) -> dict:
    """The config values the command line fixes: `--set KEY=VALUE`, and a smoke test's small budget."""
    cli: dict[str, Any] = {}
    for text in overrides:
        key, value = parse_override(text)
        if key.split(".")[0] not in ("model", "aux", "train", "data"):
            raise SpecError(f"--set {key}: only config keys (model.*, aux.*, train.*, data.*) can be set")
        cli[key] = value
    if smoke:
        pretrain = {**mapping(base_tree.get("aux"), "base.aux"), **fixed}.get("pretrain_epochs", 1)
        smoke_values = {**SMOKE_VALUES, "aux.pretrain_epochs": min(fixed.get("aux.pretrain_epochs", pretrain), 1)}
        cli = {**smoke_values, **cli}
    return cli


def _base_config(base_tree: dict[str, Any], fixed: Mapping[str, Any], cli: Mapping[str, Any]) -> RunConfig:
    """The base config with the fixed values applied, validated; errors name the spec part they come from."""
    try:
        check_keys(base_tree)
    except ConfigError as err:
        raise SpecError(f"base: {err}") from err
    try:
        return config_from_dict(base_tree, values=fixed)
    except ConfigError as err:
        where = "--set" if any(str(k) in str(err) for k in cli) else "space.fixed"
        raise SpecError(f"{where}: {err}") from err


def _space(params: dict[str, Param], base_cfg: RunConfig, spec_resources: Resources) -> Space:
    """The space of `params` over the flat base config; every searched key and condition must be a known key."""
    base = {**flatten(base_cfg), WORKERS: spec_resources.workers}
    if WORKERS in params:
        workers = params[WORKERS]
        if workers.kind != "choice" or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1
                                               for v in workers.values):  # fmt: skip
            raise SpecError(f"space.{workers.role}.{WORKERS}: expected {{choice: [...]}} of whole numbers >= 1")
    for key, param in params.items():
        if key not in base:
            raise SpecError(f"space.{param.role}.{key}: {unknown_key(key, base)}")
        for condition, _ in param.when:
            if condition not in base:
                raise SpecError(f"space.{param.role}.{key}.when.{condition}: {unknown_key(condition, base)}")
    return Space(params=tuple(params.values()), base=base)


def _objectives_for(raw: Mapping[str, Any], params: Mapping[str, Param], base_cfg: RunConfig) -> tuple[Objective, ...]:
    """The spec's objectives, refused where a metric cannot exist (validation metrics without a validation split)."""
    goals = objectives(raw)
    needs_validation = [o.metric for o in goals if o.metric.startswith("val/") or o.metric == "eval_peak_memory_mb"]
    if "data.validation" in params and needs_validation:
        raise SpecError(f"space: data.validation is searched, but {needs_validation[0]} needs a validation split")
    if base_cfg.data.validation == "none" and needs_validation:
        raise SpecError(
            f"objective.metric: {needs_validation[0]} does not exist with data.validation none (no validation "
            "split); optimise a train/* metric, or hold out a validation split"
        )
    return goals


def _with_fixed(base_tree: Mapping[str, Any], fixed: Mapping[str, Any]) -> dict[str, Any]:
    """The base tree with the fixed values written in, so `Study.config_for` needs only the sampled point."""
    tree = {k: dict(v) if isinstance(v, dict) else v for k, v in base_tree.items()}
    for key, value in fixed.items():
        section, _, leaf = key.partition(".")
        tree.setdefault(section, {})[leaf] = value
    return tree


def _grace_checked(study: Study, smoke: bool) -> Study:
    """ASHA's grace period within a trial's supervised epochs (a smoke test shrinks it to fit); where the spec
    gives none, half of them."""
    if study.scheduler.grace_period == 0:
        half = max(1, study.max_supervised_epochs // 2)
        study = dataclasses.replace(study, scheduler=dataclasses.replace(study.scheduler, grace_period=half))
    if study.scheduler.kind != "asha" or study.scheduler.grace_period <= study.max_supervised_epochs:
        return study
    if not smoke:
        raise SpecError(
            f"scheduler.grace_period: {study.scheduler.grace_period} is more than the "
            f"{study.max_supervised_epochs} supervised epochs of a trial; use at most {study.max_supervised_epochs}"
        )
    return dataclasses.replace(study, scheduler=Scheduler("asha", 1, study.scheduler.reduction_factor))
