"""The paper's claim at the sweep's scale: does an auxiliary loss beat the truncated LSTM it is added to?

Configurations are grouped apart from their seed. Among the groups run with two or more seeds, the best auxiliary
kind with truncated backpropagation and the plain LSTM at the same truncation are chosen on the objective (the
validation metric), then compared on test accuracy: each group's mean over seeds with its two-sided 95 %
Student-t interval. The claim is supported where the intervals do not overlap in the auxiliary kind's favour,
refuted where they do not overlap the other way, and undecided where they overlap. The plain LSTM with full
backpropagation is shown as the reference where the sweep ran it.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from models.registry import MODELS
from study.reporting.section import ReportContext, Section
from study.reporting.statistics import Estimate, mean_ci
from study.reporting.trials import Trial

SEED = "train.seed"
SUPPORTED, REFUTED, UNDECIDED = "supported", "refuted", "undecided"


@dataclass(frozen=True)
class Group:
    """The COMPLETE runs of one configuration, apart from its seed."""

    method: str  # in the paper's words: 'r-LSTM Truncate1', 'LSTM Full BP'
    trials: tuple[Trial, ...]

    @property
    def config(self) -> dict:
        return self.trials[0].config

    def estimate(self, metric: str) -> Estimate:
        return mean_ci([t.last(metric) for t in self.trials])


@dataclass(frozen=True)
class Claim:
    verdict: str  # SUPPORTED | REFUTED | UNDECIDED
    auxiliary: Group  # the best auxiliary kind, truncated
    truncated: Group  # the plain LSTM at the same truncation
    full: Group | None  # the plain LSTM with full backpropagation: the reference

    def line(self) -> str:
        """One line: the verdict and the numbers behind it."""
        aux, trunc = self.auxiliary.estimate("test_accuracy"), self.truncated.estimate("test_accuracy")
        seeds = f"{aux.n} seeds each" if aux.n == trunc.n else f"{aux.n} and {trunc.n} seeds"
        overlap = "do not overlap" if self.verdict != UNDECIDED else "overlap"
        text = (
            f"paper's claim (an auxiliary loss beats truncated backpropagation alone) at this scale: "
            f"{self.verdict.upper()}: {self.auxiliary.method} test accuracy {_describe(aux)} against "
            f"{self.truncated.method} {_describe(trunc)} (95 % intervals over {seeds} {overlap})"
        )
        if self.full is not None:
            text += f"; {self.full.method} {_describe(self.full.estimate('test_accuracy'))} as the reference"
        return text


def _describe(estimate: Estimate) -> str:
    return f"{estimate.mean:.3f} ± {estimate.half_width:.3f}"


def seed_free_groups(trials: list[Trial], metric: str) -> list[Group]:
    """COMPLETE trials with both the objective and a test accuracy, grouped by their config without the seed;
    only groups of two or more seeds (one run has no interval)."""
    members: dict[tuple, list[Trial]] = defaultdict(list)
    for t in trials:
        if t.status == "COMPLETE" and t.last(metric) is not None and t.last("test_accuracy") is not None:
            members[tuple(sorted((k, repr(v)) for k, v in t.config.items() if k != SEED))].append(t)
    return [Group(m[0].method, tuple(m)) for m in members.values() if len({t.config.get(SEED) for t in m}) >= 2]


def _best(groups: list[Group], metric: str, mode: str) -> Group | None:
    if not groups:
        return None
    sign = 1 if mode == "max" else -1
    return max(groups, key=lambda g: sign * g.estimate(metric).mean)


def judge(trials: list[Trial], metric: str, mode: str) -> Claim | None:
    """The claim as this sweep's trials decide it, or None where the sweep did not run the comparison."""
    groups = seed_free_groups(trials, metric)

    def truncated_kind(g: Group, auxiliary: bool) -> bool:
        info = MODELS.get(g.config["model.kind"])
        return (
            info is not None and info.recurrent and (info.auxiliary is not None) == auxiliary
            and g.config.get("train.truncation") is not None and g.config.get("train.supervised_grad", "lstm") == "lstm"
            and (not auxiliary or g.config.get("aux.weight", 1.0) > 0)
        )  # fmt: skip

    auxiliary = _best([g for g in groups if truncated_kind(g, True)], metric, mode)
    if auxiliary is None:
        return None
    window = auxiliary.config["train.truncation"]
    same = [g for g in groups if truncated_kind(g, False) and g.config["train.truncation"] == window]
    truncated = _best(same, metric, mode)
    if truncated is None:
        return None
    plain_full = [g for g in groups if g.config["model.kind"] == "lstm" and g.config.get("train.truncation") is None]
    full = _best(plain_full, metric, mode)
    aux, trunc = auxiliary.estimate("test_accuracy"), truncated.estimate("test_accuracy")
    if aux.mean - aux.half_width > trunc.mean + trunc.half_width:
        verdict = SUPPORTED
    elif aux.mean + aux.half_width < trunc.mean - trunc.half_width:
        verdict = REFUTED
    else:
        verdict = UNDECIDED
    return Claim(verdict, auxiliary, truncated, full)


def claim(ctx: ReportContext) -> Section:
    """The report's section: the verdict, and the table of every seed-free group it saw."""
    verdict = judge(ctx.trials, ctx.metric, ctx.mode)
    if verdict is None:
        return Section()
    lines = ["## The paper's claim at this scale", "", verdict.line() + ".", ""]
    lines += [f"| configuration | seeds | mean {ctx.metric} | test accuracy (95 % interval) |", "|---|---|---|---|"]
    for g in (verdict.auxiliary, verdict.truncated, verdict.full):
        if g is not None:
            val, test = g.estimate(ctx.metric), g.estimate("test_accuracy")
            lines.append(f"| {g.method} | {test.n} | {val.mean:.3f} | {_describe(test)} |")
    lines += ["", "Chosen on the objective; intervals are two-sided 95 % Student-t intervals over seeds.", ""]
    return Section(lines)
