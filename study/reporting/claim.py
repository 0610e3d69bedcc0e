"""The paper's claim at the sweep's scale: does an auxiliary loss beat the truncated LSTM it is added to?

Runs are grouped by configuration apart from their seed (as the MLflow tag `auxlstm.config_group` groups them),
one run per seed. Per dataset, among the groups run with two or more seeds, the auxiliary kind with truncated
backpropagation best on the first validation objective (`val/…`) and the plain LSTM at the same truncation best on
it are compared on test accuracy: each group's mean over seeds with its two-sided 95 % Student-t interval. The
claim is supported where the intervals do not overlap in the auxiliary kind's favour, refuted where they do not
overlap the other way, and undecided where they overlap. The plain LSTM with full backpropagation is shown as the
reference where the sweep ran it. A sweep without a validation objective (the paper's protocol selects on the
training loss) gets no verdict: test accuracy must not choose what it then judges.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from models.registry import MODELS
from study.reporting.section import ReportContext, Section
from study.reporting.statistics import Estimate, mean_ci
from study.reporting.trials import Trial
from study.results.seeds import seed_free_group

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
    dataset: str
    metric: str  # the validation objective the groups were chosen on
    auxiliary: Group  # the best auxiliary kind, truncated
    truncated: Group  # the plain LSTM at the same truncation
    full: Group | None  # the plain LSTM with full backpropagation: the reference

    def line(self) -> str:
        """One line: the verdict and the numbers behind it."""
        aux, trunc = self.auxiliary.estimate("test_accuracy"), self.truncated.estimate("test_accuracy")
        seeds = f"{aux.n} seeds each" if aux.n == trunc.n else f"{aux.n} and {trunc.n} seeds"
        overlap = "do not overlap" if self.verdict != UNDECIDED else "overlap"
        text = (
            f"paper's claim (an auxiliary loss beats truncated backpropagation alone) on {self.dataset} at this "
            f"scale: {self.verdict.upper()}: {self.auxiliary.method} (the best auxiliary kind on {self.metric}) "
            f"test accuracy {_describe(aux)} against {self.truncated.method} {_describe(trunc)} (95 % intervals "
            f"over {seeds} {overlap})"
        )
        if self.full is not None:
            text += f"; {self.full.method} {_describe(self.full.estimate('test_accuracy'))} as the reference"
        return text


def _describe(estimate: Estimate) -> str:
    return f"{estimate.mean:.3f} ± {estimate.half_width:.3f}"


def seed_free_groups(trials: list[Trial], metric: str) -> list[Group]:
    """COMPLETE trials with both `metric` and a test accuracy, grouped by configuration apart from the seed, the
    first run of each seed only (a repeat would narrow the interval); groups of two or more seeds (one run has no
    interval)."""
    members: dict[str, dict] = defaultdict(dict)
    for t in trials:
        if t.status == "COMPLETE" and t.last(metric) is not None and t.last("test_accuracy") is not None:
            members[seed_free_group(t.config, t.workers)].setdefault(t.config.get(SEED), t)
    return [Group(next(iter(m.values())).method, tuple(m.values())) for m in members.values() if len(m) >= 2]


def _best(groups: list[Group], metric: str, mode: str) -> Group | None:
    if not groups:
        return None
    sign = 1 if mode == "max" else -1
    return max(groups, key=lambda g: sign * g.estimate(metric).mean)


def validation_objective(objectives: list[tuple[str, str]]) -> tuple[str, str] | None:
    """The first objective measured on validation data, as (metric, mode); None where there is none."""
    return next(((m, mode) for m, mode in objectives if m.startswith("val/")), None)


def _recurrent(g: Group, auxiliary: bool) -> bool:
    """A recurrent kind, with or without an auxiliary loss (and its weight above 0), truncated, normal gradient."""
    info = MODELS.get(g.config["model.kind"])
    return (
        info is not None and info.recurrent and (info.auxiliary is not None) == auxiliary
        and g.config.get("train.truncation") is not None and g.config.get("train.supervised_grad", "lstm") == "lstm"
        and (not auxiliary or (g.config.get("aux.weight") or 0) > 0)
    )  # fmt: skip


def judge(trials: list[Trial], objectives: list[tuple[str, str]]) -> list[Claim]:
    """The claim as this sweep's trials decide it, one verdict per dataset that ran the comparison."""
    chosen_on = validation_objective(objectives)
    if chosen_on is None:
        return []
    metric, mode = chosen_on
    by_data: dict[tuple, list[Group]] = defaultdict(list)  # never compared across datasets
    for g in seed_free_groups(trials, metric):
        by_data[tuple(sorted((k, repr(v)) for k, v in g.config.items() if k.startswith("data.")))].append(g)
    claims = []
    for groups in by_data.values():
        auxiliary = _best([g for g in groups if _recurrent(g, True)], metric, mode)
        if auxiliary is None:
            continue
        window = auxiliary.config["train.truncation"]
        truncated = _best([g for g in groups if _recurrent(g, False) and g.config["train.truncation"] == window],
                          metric, mode)  # fmt: skip
        if truncated is None:
            continue
        plain_full = [g for g in groups if g.config["model.kind"] == "lstm" and g.config["train.truncation"] is None]
        claims.append(Claim(_verdict(auxiliary, truncated), auxiliary.config["data.name"], metric, auxiliary,
                            truncated, _best(plain_full, metric, mode)))  # fmt: skip
    return claims


def _verdict(auxiliary: Group, truncated: Group) -> str:
    aux, trunc = auxiliary.estimate("test_accuracy"), truncated.estimate("test_accuracy")
    if aux.mean - aux.half_width > trunc.mean + trunc.half_width:
        return SUPPORTED
    if aux.mean + aux.half_width < trunc.mean - trunc.half_width:
        return REFUTED
    return UNDECIDED


def claim(ctx: ReportContext) -> Section:
    """The report's section: per dataset, the verdict and the groups behind it."""
    objectives = [(o["metric"], o["mode"]) for o in ctx.sweep.data.get("objectives", [])] or [(ctx.metric, ctx.mode)]
    claims = judge(ctx.trials, objectives)
    if not claims:
        return Section()
    lines = ["## The paper's claim at this scale", ""]
    for found in claims:
        lines += [found.line() + ".", ""]
        lines += [f"| configuration | seeds | mean {found.metric} | test accuracy (95 % interval) |",
                  "|---|---|---|---|"]  # fmt: skip
        for g in (found.auxiliary, found.truncated, found.full):
            if g is not None:
                val, test = g.estimate(found.metric), g.estimate("test_accuracy")
                lines.append(f"| {g.method} | {test.n} | {val.mean:.3f} | {_describe(test)} |")
        lines.append("")
    lines += ["Each configuration is the best of its kind on the validation objective; intervals are two-sided 95 % "
              "Student-t intervals over seeds, one run per seed.", ""]  # fmt: skip
    return Section(lines)
