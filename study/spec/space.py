"""A study's search space: searched parameters, the conditions under which each applies, and the one function that
samples it (define-by-run).

The space is conditional, so every sampled point is a valid config: a key is sampled only for the model kinds that
read it (`models.MODELS`: `aux.*` only for the auxiliary kinds, `model.transformer_*` only for the Transformer,
`train.truncation` never for the Transformer, which needs full BPTT), and a parameter with `when: {KEY: [values]}`
only where the sampled (or base) value of KEY is one of those.

`sample(trial)` hands each parameter to its domain type (`study.spec.domains`), which calls Optuna's
`trial.suggest_*`; this module imports no Ray, Optuna or MLflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from models import MODELS, kinds_reading
from study.spec.domains import Param, same


def implied_conditions(key: str) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    """The condition a key carries by itself: the model kinds that read it (none where every kind does)."""
    kinds = kinds_reading(key)
    return () if len(kinds) == len(MODELS) else (("model.kind", kinds),)


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
            if not any(same(value, v) for v in allowed):
                return False
        return True

    def sample(self, trial: Any) -> None:
        """The define-by-run function: suggest every parameter that applies, given those sampled before it.

        Optuna's sampler decides the values; the trial records them under the dotted keys.
        """
        point: dict[str, Any] = {}
        for p in self.ordered():
            if self.applies(p, point):
                point[p.key] = p.suggest(trial)

    __call__ = sample  # OptunaSearch calls the space itself

    def restrict(self, point: Mapping[str, Any]) -> dict[str, Any]:
        """A full point (e.g. a spec's first point) reduced to the parameters that apply to it."""
        kept: dict[str, Any] = {}
        for p in self.ordered():
            if p.key in point and self.applies(p, {**point, **kept}):
                kept[p.key] = point[p.key]
        return kept


def implied_overrides(point: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """Keys a sampled point forces so that it is valid: full BPTT for a kind that is not recurrent."""
    kind = point.get("model.kind", base.get("model.kind"))
    if kind in MODELS and not MODELS[kind].recurrent and "train.truncation" not in point:
        return {"train.truncation": None}
    return {}
