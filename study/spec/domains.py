"""Search-space domain types as one table, and the searched parameter that carries one.

A parameter is a dotted config key with a domain, written in a spec as `{choice: [...]}`,
`{float: [low, high], log: bool}` or `{int: [low, high], log: bool, step: n}`. Each row of `DOMAINS` says
everything the project does with a domain type: how a spec writes it (parse, and back for messages), which
values it holds, the values that bound it (to validate a space before it runs), how Optuna samples it and which
Optuna distribution records it (a class name of `optuna.distributions` and its arguments: this module imports
no Optuna). Every caller (the spec parser, the sampler, warm start, the sweep's parent run) goes through the row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Role = Literal["scientific", "nuisance"]
ROLES: tuple[Role, ...] = ("scientific", "nuisance")


class SpaceError(ValueError):
    """A malformed search space; the message names the offending key."""


@dataclass(frozen=True)
class Param:
    """A searched config key: its role, its domain (a row of `DOMAINS` and its values) and its conditions."""

    key: str  # dotted config key, also the Optuna parameter name
    role: Role
    kind: str  # a key of DOMAINS
    values: tuple[Any, ...] = ()  # choice
    low: float = 0.0  # float / int
    high: float = 0.0
    log: bool = False
    step: int | None = None  # int
    when: tuple[tuple[str, tuple[Any, ...]], ...] = ()  # explicit conditions: (key, allowed values)

    @property
    def type(self) -> DomainType:
        return DOMAINS[self.kind]

    def contains(self, value: Any) -> bool:
        return self.type.contains(self, value)

    def domain(self) -> str:
        """The domain as a spec writes it, e.g. {float: [0.1, 3.0], log: true}, for messages."""
        return self.type.written(self)

    def extremes(self) -> list[Any]:
        """The values that bound what this parameter can produce (for validating a space before it runs)."""
        return self.type.extremes(self)

    def suggest(self, trial: Any) -> Any:
        """The value Optuna's `trial` samples for this parameter (recorded under its key)."""
        return self.type.suggest(trial, self)

    def distribution(self) -> tuple[str, dict[str, Any]]:
        """The Optuna distribution that records this parameter: a class name of `optuna.distributions` and its
        keyword arguments."""
        return self.type.distribution(self)


@dataclass(frozen=True)
class DomainType:
    """Everything the project does with one kind of domain (a row of `DOMAINS`)."""

    name: str  # how a spec names it: {NAME: ...}
    example: str  # for messages: {float: [low, high]}
    options: tuple[str, ...]  # the other keys it takes besides `when`
    parse: Callable[[Any, Mapping[str, Any], str], dict[str, Any]]  # (its value, the mapping, where) -> Param fields
    contains: Callable[[Param, Any], bool]
    extremes: Callable[[Param], list[Any]]
    written: Callable[[Param], str]
    suggest: Callable[[Any, Param], Any]
    distribution: Callable[[Param], tuple[str, dict[str, Any]]]


def same(a: Any, b: Any) -> bool:
    """Equal as config values: 1 and 1.0 are, True and 1 are not."""
    if isinstance(a, bool) or isinstance(b, bool) or not isinstance(a, (int, float)):
        return type(a) is type(b) and a == b
    return isinstance(b, (int, float)) and a == b


def _parse_choice(values: Any, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(values, list) or not values:
        raise SpaceError(f"{where}.choice: expected a non-empty list of values, got {values!r}")
    if len({repr(v) for v in values}) != len(values):
        raise SpaceError(f"{where}.choice: values repeat: {values!r}")
    if any(isinstance(v, (list, dict)) for v in values):
        raise SpaceError(f"{where}.choice: values must be plain (number, string, boolean or null)")
    return {"values": tuple(values)}


def _parse_range(kind: str) -> Callable[[Any, Mapping[str, Any], str], dict[str, Any]]:
    def parse(bounds: Any, raw: Mapping[str, Any], where: str) -> dict[str, Any]:
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
        return {"low": low, "high": high, "log": log, "step": step}

    return parse


def _in_range(p: Param, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if p.kind == "int" and (not float(value).is_integer() or (p.step and (value - p.low) % p.step)):
        return False
    return p.low <= value <= p.high


def _range_written(p: Param) -> str:
    options = (", log: true" if p.log else "") + (f", step: {p.step}" if p.step else "")
    return f"{{{p.kind}: [{p.low}, {p.high}]{options}}}"


def _int_extremes(p: Param) -> list[Any]:
    high = p.high if not p.step else p.low + (p.high - p.low) // p.step * p.step  # the last value on the grid
    return [int(p.low), int(high)]


CHOICE = DomainType(
    name="choice", example="{choice: [a, b]}", options=(), parse=_parse_choice,
    contains=lambda p, value: any(same(value, v) for v in p.values),
    extremes=lambda p: list(p.values),
    written=lambda p: "{choice: [" + ", ".join("null" if v is None else str(v) for v in p.values) + "]}",
    suggest=lambda trial, p: trial.suggest_categorical(p.key, list(p.values)),
    distribution=lambda p: ("CategoricalDistribution", {"choices": list(p.values)}),
)  # fmt: skip
FLOAT = DomainType(
    name="float", example="{float: [low, high]}", options=("log",), parse=_parse_range("float"),
    contains=_in_range, extremes=lambda p: [p.low, p.high], written=_range_written,
    suggest=lambda trial, p: trial.suggest_float(p.key, p.low, p.high, log=p.log),
    distribution=lambda p: ("FloatDistribution", {"low": p.low, "high": p.high, "log": p.log}),
)  # fmt: skip
INT = DomainType(
    name="int", example="{int: [low, high]}", options=("log", "step"), parse=_parse_range("int"),
    contains=_in_range, extremes=_int_extremes, written=_range_written,
    suggest=lambda trial, p: trial.suggest_int(p.key, p.low, p.high, log=p.log, step=p.step or 1),
    distribution=lambda p: (
        "IntDistribution", {"low": int(p.low), "high": int(p.high), "log": p.log, "step": p.step or 1}
    ),
)  # fmt: skip
DOMAINS: dict[str, DomainType] = {d.name: d for d in (CHOICE, FLOAT, INT)}


def parse_param(key: str, raw: Any, role: Role, where: str) -> Param:
    """One parameter from its spec mapping, e.g. {float: [1e-2, 10], log: true}."""
    if not isinstance(raw, Mapping):
        examples = [d.example for d in DOMAINS.values()]
        raise SpaceError(f"{where}: expected a domain {', '.join(examples[:-1])} or {examples[-1]}, got {raw!r}")
    kinds = [k for k in DOMAINS if k in raw]
    if len(kinds) != 1:
        raise SpaceError(f"{where}: give exactly one of {', '.join(DOMAINS)}, got {sorted(raw)}")
    domain = DOMAINS[kinds[0]]
    allowed = {domain.name, "when", *domain.options}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise SpaceError(
            f"{where}.{unknown[0]}: unknown for a {domain.name} domain; valid: {', '.join(sorted(allowed))}"
        )
    when = _parse_when(raw.get("when"), f"{where}.when")
    return Param(key, role, domain.name, when=when, **domain.parse(raw[domain.name], raw, where))


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
