"""What every report section receives and returns: the sweep's trials and objective in, Markdown lines and the
figures it drew out. The writer logs exactly the figures the sections return."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from study.reporting.trials import Trial
from study.results.sweep_dir import SweepInfo


@dataclass(frozen=True)
class ReportContext:
    """What every section reads: the sweep, its trials, its first objective and where the report goes."""

    sweep: SweepInfo
    trials: list[Trial]
    metric: str  # the sweep's first objective
    mode: str  # max | min
    out: Path  # where the report and its figures go
    top_k: int = 3  # best configurations listed
    target_accuracy: float | None = None  # the workers section's target (None: the best every run reached)


@dataclass(frozen=True)
class Section:
    """A section's Markdown lines and the figures it drew."""

    lines: list[str] = field(default_factory=list)  # Markdown; empty: the sweep has nothing for this section
    figures: list[Path] = field(default_factory=list)  # the PNGs it drew under the report's directory
