"""Metrics kept as sums and counts, so workers can add theirs before anything is divided; peak memory."""

from __future__ import annotations

import re
import resource
from collections import defaultdict
from pathlib import Path

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


def _status_mb(field: str) -> float | None:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MB, None where there is none."""
    try:
        found = re.search(rf"^{field}:\s+(\d+) kB", Path("/proc/self/status").read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(found.group(1)) / 1024 if found else None


def _reset_peak_rss() -> bool:
    """Reset Linux's peak RSS (VmHWM) to the current RSS, so a span's own peak can be read; False if unsupported."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        return False
    return _status_mb("VmHWM") is not None


class PeakMemory:
    """Peak memory of one span, from `start()` to `peak_mb()`.

    GPU: the CUDA peak allocation during the span (model and optimizer included). CPU: how far the resident set
    rose above where it stood at `start()` (Linux's VmHWM, reset at the start); where the peak cannot be reset,
    how far the process's all-time peak rose during the span, which misses a span that stays below an earlier
    peak.
    """

    def __init__(self, device: torch.device) -> None:
        self.device, self.base_mb, self.resettable = device, 0.0, False

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)
            return
        self.resettable = _reset_peak_rss()
        self.base_mb = _status_mb("VmRSS") if self.resettable else peak_rss_mb()

    def peak_mb(self) -> float:
        if self.device.type == "cuda":
            return torch.cuda.max_memory_allocated(self.device) / 2**20
        peak = _status_mb("VmHWM") if self.resettable else peak_rss_mb()
        return max(peak - self.base_mb, 0.0)
