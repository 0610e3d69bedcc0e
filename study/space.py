"""A study's search space as data, and the one function that samples it (define-by-run).

A parameter is a dotted config key with a domain: `{choice: [...]}`, `{float: [low, high], log: bool}` or
`{int: [low, high], log: bool, step: n}`. The space is conditional, so every sampled point is a valid config:
`aux.*` keys are sampled only for auxiliary kinds (r_lstm, p_lstm), `model.transformer_*` only for the
Transformer, `train.truncation` never for the Transformer (which needs full BPTT), and a parameter with
`when: {KEY: [values]}` only where the sampled (or base) value of KEY is one of those.

`sample(trial)` calls Optuna's `trial.suggest_*` and nothing else here knows of Optuna: this module imports
no Ray, Optuna or MLflow.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from models.config import AUX_KINDS

Role = Literal["scientific", "nuisance"]
ROLES: tuple[Role, ...] = ("scientific", "nuisance")
DOMAIN_KINDS = ("choice", "float", "int")


class SpaceError(ValueError):
    """A malformed search space; the message names the offending key."""


@dataclass(frozen=True)
class Param:
    key: str  # dotted config key, also the Optuna parameter name
    role: Role
    kind: Literal["choice", "float", "int"]
    values: tuple[Any, ...] = ()  # choice
    low: float = 0.0  # float / int
    high: float = 0.0
    log: bool = False
    step: int | None = None  # int
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()  # explicit conditions: (key, allowed values)

    def contains(self, value: Any) -> bool:
        if self.kind == "choice":
            return any(_same(value, v) for v in self.values)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if self.kind == "int" and (not float(value).is_integer() or (self.step and (value - self.low) % self.step)):
            return False
        return self.low <= value <= self.high

    def domain(self) -> str:
        """The domain as a spec writes it, e.g. {float: [0.1, 3.0], log: true}, for messages."""
        if self.kind == "choice":
            return "{choice: [" + ", ".join("null" if v is None else str(v) for v in self.values) + "]}"
        options = (", log: true" if self.log else "") + (f", step: {self.step}" if self.step else "")
        return f"{{{self.kind}: [{self.low}, {self.high}]{options}}}"

    def extremes(self) -> list[Any]:
        """The values that bound what this parameter can produce (for validating a space before it runs)."""
        if self.kind == "choice":
            return list(self.values)
        if self.kind == "int":
            high = self.high if not self.step else self.low + (self.high - self.low) // self.step * self.step
            return [int(self.low), int(high)]
        return [self.low, self.high]


def _same(a: Any, b: Any) -> bool:
    """Equal as config values: 1 and 1.0 are, True and 1 are not."""
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)):
        return type(a) is type(b) and a == b
    return isinstance(b, (int, float)) and a == b


def parse_param(key: str, raw: Any, role: Role, where: str) -> Param:
    """One parameter from its spec mapping, e.g. {float: [1e-2, 10], log: true}."""
    if not isinstance(raw, Mapping):
        raise SpaceError(
            f"{where}: expected a domain {{choice: [a, b]}}, {{float: [low, high]}} or {{int: [low, high]}}, "
            f"got {raw!r}"
        )
    kinds = [k for k in DOMAIN_KINDS if k in raw]
    if len(kinds) != 1:
        raise SpaceError(f"{where}: give exactly one of {', '.join(DOMAIN_KINDS)}, got {sorted(raw)}")
    kind = kinds[0]
    allowed = {kind, "when"} | ({"log", "step"} if kind == "int" else {"log"} if kind == "float" else set())
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise SpaceError(f"{where}.{unknown[0]}: unknown for a {kind} domain; valid: {', '.join(sorted(allowed))}")
    when = _parse_when(raw.get("when"), f"{where}.when")
    if kind == "choice":
        values = raw["choice"]
        if not isinstance(values, list) or not values:
            raise SpaceError(f"{where}.choice: expected a non-empty list of values, got {values!r}")
        if len({repr(v) for v in values}) != len(values):
            raise SpaceError(f"{where}.choice: values repeat: {values!r}")
        if any(isinstance(v, (list, dict)) for v in values):
            raise SpaceError(f"{where}.choice: values must be plain (number, string, boolean or null)")
        return Param(key, role, "choice", values=tuple(values), when=when)
    bounds = raw[kind]
    if (
        not isinstance(bounds, list)
        or len(bounds) != 2
        or any(isinstance(b, bool) or not isinstance(b, (int, float)) or not math.isfinite(b) for b in bounds)
    ):
        raise SpaceError(f"{where}.{kind}: expected [low, high] as two finite numbers, got {bounds!r}")
    low, high = bounds
    if kind == "int" and not (float(low).is_integer() and float(high).is_integer()):
        raise SpaceError(f"{where}.int: bounds must be whole numbers, got {bounds!r}")
    if not low < high:
        raise SpaceError(f"{where}.{kind}: low {low} must be below high {high}")
    log = raw.get("log", False)
    if not isinstance(log, bool):
        raise SpaceError(f"{where}.log: expected true or false, got {log!r}")
    if log and low <= 0:
        raise SpaceError(f"{where}.log: a log scale needs low > 0, got {low}")
    step = raw.get("step")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, int) or step < 1:
            raise SpaceError(f"{where}.step: expected a whole number >= 1, got {step!r}")
        if log and step != 1:
            raise SpaceError(f"{where}.step: Optuna cannot combine log with step {step}")
    if kind == "int":
        low, high = int(low), int(high)
    return Param(key, role, kind, low=low, high=high, log=log, step=step, when=when)


def _parse_when(raw: Any, where: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    if raw is None:
        return ()
    if not isinstance(raw, Mapping) or not raw:
        raise SpaceError(f"{where}: expected a mapping {{KEY: [values]}}, got {raw!r}")
    conditions = []
    for key, values in raw.items():
        values = values if isinstance(values, list) else [values]
        conditions.append((str(key), tuple(values)))
    return tuple(conditions)


def implied_conditions(key: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The conditions a key carries by itself: where it means something, and where validation needs it absent."""
    if key.startswith("aux."):
        return (("model.kind", AUX_KINDS),)
    if key.startswith("model.transformer_"):
        return (("model.kind", ("transformer",)),)
    if key == "train.truncation":
        return (("model.kind", ("lstm", "r_lstm", "p_lstm")),)
    return ()


@dataclass(frozen=True)
class Space:
    """The searched parameters (scientific, then nuisance) and the base values they are conditioned on."""

    params: tuple[Param, ...]
    base: Mapping[str, Any]  # flat dotted keys of the base config, for conditions on keys not searched

    def ordered(self) -> list[Param]:
        """Parameters that others are conditioned on come first, so conditions see their sampled values."""
        conditioned_on = {k for p in self.params for k, _ in (*implied_conditions(p.key), *p.when)}
        return sorted(self.params, key=lambda p: p.key not in conditioned_on)

    def applies(self, param: Param, point: Mapping[str, Any]) -> bool:
        for key, allowed in (*implied_conditions(param.key), *param.when):
            value = point[key] if key in point else self.base.get(key)
            if not any(_same(value, v) for v in allowed):
                return False
        return True

    def sample(self, trial: Any) -> None:
        """The define-by-run function: suggest every parameter that applies, given those sampled before it.

        Optuna's sampler decides the values; the trial records them under the dotted keys.
        """
        point: dict[str, Any] = {}
        for p in self.ordered():
            if not self.applies(p, point):
                continue
            if p.kind == "choice":
                point[p.key] = trial.suggest_categorical(p.key, list(p.values))
            elif p.kind == "float":
                point[p.key] = trial.suggest_float(p.key, p.low, p.high, log=p.log)
            else:
                point[p.key] = trial.suggest_int(p.key, p.low, p.high, log=p.log, step=p.step or 1)

    __call__ = sample  # OptunaSearch calls the space itself

    def restrict(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """A full point (e.g. a spec's first point) reduced to the parameters that apply to it."""
        kept: dict[str, Any] = {}
        for p in self.ordered():
            if p.key in point and self.applies(p, {**point, **kept}):
                kept[p.key] = point[p.key]
        return kept


def implied_overrides(point: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """Keys a sampled point forces so that it is valid: full BPTT for the Transformer."""
    kind = point.get("model.kind", base.get("model.kind"))
    if kind == "transformer" and "train.truncation" not in point:
        return {"train.truncation": None}
    return {}
