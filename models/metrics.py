"""Metrics kept as sums and counts, so workers can add theirs before anything is divided; peak memory."""

from __future__ import annotations

import resource
from collections import defaultdict

import torch


class SumMetrics:
    """Named (sum, count) pairs; `mean` divides only when asked, after any cross-worker addition."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = defaultdict(float)
        self.counts: dict[str, float] = defaultdict(float)

    def add(self, name: str, total: float, count: float) -> None:
        self.sums[name] += total
        self.counts[name] += count

    def mean(self, name: str) -> float:
        return self.sums[name] / self.counts[name] if self.counts[name] else float("nan")

    def means(self) -> dict[str, float]:
        return {name: self.mean(name) for name in self.sums}


def peak_rss_mb() -> float:
    """The process's peak resident set size so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class PeakMemory:
    """Peak memory of a span: CUDA max allocated on GPU, growth of the peak RSS over `baseline_mb` on CPU."""

    def __init__(self, device: torch.device, baseline_mb: float) -> None:
        self.device, self.baseline_mb = device, baseline_mb

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)

    def peak_mb(self) -> float:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        return max(peak_rss_mb() - self.baseline_mb, 0.0)
