"""Recurrent kernels: which implementation runs an `nn.LSTM`'s weights over a sequence (`model.recurrent_kernel`).

Every LSTM call of the models goes through `run` or `final_state` here, so a kernel is one module holding one
pair of functions, and a model's parameters (and checkpoints) do not depend on the kernel: each kernel reads the
`nn.LSTM`'s own `weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0` and its gate order (i, f, g, o).

- `cudnn`: PyTorch's `nn.LSTM` call (cuDNN on GPU, ATen's own loop on CPU). What every run used before.
- `flashrnn-fused` / `flashrnn-triton`: FlashRNN's fused CUDA kernel or its Triton kernel, one head of the full
  width (a standard LSTM). On CPU both run FlashRNN's pure-PyTorch reference loop, which is what the exactness
  tests compare; it is slow and meant for them. An optional extra: `pip install -e '.[gpu]'`.
- `auto`: the kernel measured fastest for the layer's size on the device (`models.kernels.selection`).
"""

from __future__ import annotations

import torch
from torch import nn

from models.kernels import cudnn
from models.kernels.selection import KERNEL_NAMES, KernelUnavailable, resolve

State = tuple[torch.Tensor, torch.Tensor]  # (h, c), each (1, N, H) as nn.LSTM takes them

__all__ = ["KERNEL_NAMES", "KernelUnavailable", "final_state", "resolve", "run"]


def run(lstm: nn.LSTM, x: torch.Tensor, state: State | None, kernel: str = "auto") -> tuple[torch.Tensor, State]:
    """`lstm(x, state)` through `kernel`: x (N, S, I) -> outputs (N, S, H), (h, c) each (1, N, H)."""
    chosen = resolve(kernel, lstm.hidden_size, x.device)
    if chosen == "cudnn":
        return cudnn.run(lstm, x, state)
    from models.kernels import flashrnn  # imports FlashRNN: only when chosen

    return flashrnn.run(lstm, x, state, backend=chosen)


def final_state(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor, state: State, kernel: str = "auto") -> State:
    """The state after row i has read x[i, :lengths[i]]: x (N, S, I) right-padded, lengths (N,) CPU int64 >= 1,
    state (h, c) each (1, N, H) -> (h, c) each (1, N, H)."""
    chosen = resolve(kernel, lstm.hidden_size, x.device)
    if chosen == "cudnn":
        return cudnn.final_state(lstm, x, lengths, state)
    from models.kernels import flashrnn

    return flashrnn.final_state(lstm, x, lengths, state, backend=chosen)
