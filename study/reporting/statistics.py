"""Statistics of a study's results: power laws of cost against sequence length, and means over seeds."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

MIN_LENGTHS = 3  # a line through two points says nothing about its fit


@dataclass(frozen=True)
class PowerLaw:
    """value ≈ coefficient × length ** exponent, fitted by least squares in log-log space."""

    exponent: float
    coefficient: float
    r2: float  # of the log-log line; nan for a perfect fit through constant values
    lengths: int  # distinct lengths the fit saw
    reliable: bool  # at least MIN_LENGTHS distinct lengths

    def __call__(self, length: float | np.ndarray) -> float | np.ndarray:
        return self.coefficient * np.asarray(length, dtype=float) ** self.exponent

    def describe(self) -> str:
        text = f"{round(self.exponent, 2) + 0.0:.2f}"  # + 0.0: no "-0.00"
        return text if self.reliable else f"{text} (only {self.lengths} lengths: not a fit)"


def fit_power_law(lengths: Sequence[float], values: Sequence[float]) -> PowerLaw:
    """The power law through (length, value) pairs; values must be positive. Repeats (seeds) are fitted as they
    are; `reliable` is False on fewer than MIN_LENGTHS distinct lengths."""
    x, y = np.log(np.asarray(lengths, dtype=float)), np.log(np.asarray(values, dtype=float))
    if len(x) < 2 or np.ptp(x) == 0:
        raise ValueError("a power law needs at least two different lengths")
    slope, intercept = np.polyfit(x, y, 1)
    residual = float(np.sum((y - (slope * x + intercept)) ** 2))
    spread = float(np.sum((y - y.mean()) ** 2))
    r2 = 1 - residual / spread if spread > 0 else math.nan
    distinct = len(set(np.asarray(lengths).tolist()))
    return PowerLaw(float(slope), float(math.exp(intercept)), r2, distinct, distinct >= MIN_LENGTHS)


@dataclass(frozen=True)
class Estimate:
    mean: float
    half_width: float | None  # of the 95 % confidence interval (Student's t); None for one value
    n: int

    def describe(self, scale: float = 1.0, digits: int = 1) -> str:
        if self.half_width is None:
            return f"{self.mean * scale:.{digits}f} (1 run)"
        return f"{self.mean * scale:.{digits}f} ± {self.half_width * scale:.{digits}f} (n={self.n})"


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> Estimate:
    data = np.asarray(values, dtype=float)
    if len(data) == 0:
        raise ValueError("no values")
    if len(data) == 1:
        return Estimate(float(data[0]), None, 1)
    sem = float(data.std(ddof=1) / math.sqrt(len(data)))
    return Estimate(float(data.mean()), float(stats.t.ppf((1 + confidence) / 2, len(data) - 1) * sem), len(data))
