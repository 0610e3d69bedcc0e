"""Which recurrent kernel `auto` runs, from measurements only.

`MEASURED_FASTEST` maps (device type, hidden units) to the kernel that a device run of `python -m study.bench
--kernels ...` measured fastest for an LSTM layer of that size, with the numbers in its comment and in
BENCHMARKS.md. A size or device not in the table runs `cudnn`: no kernel is switched on before it is measured
faster. The table is empty so far: no GPU has measured the candidates yet (issue 22).
"""

from __future__ import annotations

import functools
import importlib.util

import torch

KERNEL_NAMES = ("auto", "cudnn", "flashrnn-fused", "flashrnn-triton")

MEASURED_FASTEST: dict[tuple[str, int], str] = {}


class KernelUnavailable(RuntimeError):
    """A kernel was chosen whose library is not installed."""


@functools.cache  # every LSTM call resolves its kernel; the answer does not change within a process
def flashrnn_installed() -> bool:
    return importlib.util.find_spec("flashrnn") is not None


def resolve(kernel: str, hidden: int, device: torch.device) -> str:
    """The kernel that runs a layer of `hidden` units on `device`: `kernel` itself, or for `auto` the table's."""
    if kernel == "auto":
        return MEASURED_FASTEST.get((device.type, hidden), "cudnn")
    if kernel not in KERNEL_NAMES:
        raise ValueError(f"model.recurrent_kernel: expected one of {KERNEL_NAMES}, got {kernel!r}")
    if kernel.startswith("flashrnn") and not flashrnn_installed():
        raise KernelUnavailable(
            f"model.recurrent_kernel {kernel} needs FlashRNN: pip install -e '.[gpu]' (or choose auto or cudnn)"
        )
    return kernel
