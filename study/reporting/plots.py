"""The report's figures: small PNGs drawn with matplotlib's non-interactive backend."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # files only: no display on cluster nodes or in CI
import matplotlib.pyplot as plt
import numpy as np

Series = Mapping[str, Sequence[tuple[float, float]]]  # label -> (x, y) points


def lines(
    path: Path,
    series: Series,
    *,
    xlabel: str,
    ylabel: str,
    title: str,
    log: bool = False,
    fits: Mapping[str, tuple[Callable[[np.ndarray], np.ndarray], str]] | None = None,
) -> Path:
    """One marked line per series (points sorted by x, repeats averaged), with an optional dashed fitted curve
    per label and its legend text (e.g. a power law and its exponent)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    for i, (label, points) in enumerate(sorted(series.items())):
        color = f"C{i % 10}"
        xs = sorted({x for x, _ in points})
        ys = [float(np.mean([y for x, y in points if x == at])) for at in xs]
        legend = label
        if fits and label in fits:
            curve, text = fits[label]
            grid = np.geomspace(min(xs), max(xs), 50) if log else np.linspace(min(xs), max(xs), 50)
            ax.plot(grid, curve(grid), "--", color=color, linewidth=1)
            legend = f"{label} ({text})"
        ax.plot(xs, ys, "o-", color=color, label=legend)
    if log:
        ax.set_xscale("log")
        ax.set_yscale("log")
        for axis in (ax.xaxis, ax.yaxis):  # 400, not 4×10²
            axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        lengths = sorted({x for points in series.values() for x, _ in points})
        if len(lengths) <= 8:
            ax.set_xticks(lengths)  # the measured lengths themselves
        values = [y for points in series.values() for _, y in points]
        if max(values) < 2 * min(values):  # flat: a decade around it, so it reads as flat, not as noise
            ax.set_ylim(min(values) / 3, max(values) * 3)
    _finish(fig, ax, xlabel, ylabel, title)
    return _save(fig, path)


def pareto(
    path: Path, points: Sequence[tuple[float, float]], front: Sequence[tuple[float, float]], *, xlabel: str,
    ylabel: str, title: str,
) -> Path:  # fmt: skip
    """All trials as dots, the non-dominated ones joined."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=100)
    ax.scatter(*zip(*points), color="C7", label="trials")
    ordered = sorted(front)
    ax.plot(*zip(*ordered), "o-", color="C3", label="Pareto front")
    _finish(fig, ax, xlabel, ylabel, title)
    return _save(fig, path)


def against_identity(
    path: Path, points: Sequence[tuple[float, float]], *, xlabel: str, ylabel: str, title: str
) -> Path:
    """Points against the line y = x (predictions against measurements), on log axes."""
    fig, ax = plt.subplots(figsize=(5.2, 4.6), dpi=100)
    ax.scatter(*zip(*points), color="C0", label="trials")
    low, high = min(min(p) for p in points) / 1.5, max(max(p) for p in points) * 1.5
    ax.plot([low, high], [low, high], "--", color="C7", label="prediction = measurement")
    ax.set_xscale("log")
    ax.set_yscale("log")
    _finish(fig, ax, xlabel, ylabel, title)
    return _save(fig, path)


def bars(path: Path, values: Mapping[str, float], *, xlabel: str, title: str) -> Path:
    fig, ax = plt.subplots(figsize=(6.4, 0.5 * len(values) + 1.5), dpi=100)
    names = list(values)[::-1]
    ax.barh(names, [values[n] for n in names], color="C0")
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    fig.tight_layout()
    return _save(fig, path)


def _finish(fig, ax, xlabel: str, ylabel: str, title: str) -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()


def _save(fig, path: Path) -> Path:
    fig.savefig(path, format="png")
    plt.close(fig)
    return path
