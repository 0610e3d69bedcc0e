"""FlashRNN (Pöppel et al., arXiv 2412.07752; Apache-2.0) running an `nn.LSTM`'s weights as one head of the full
width, which is a standard LSTM: FlashRNN's gates are PyTorch's (i, f, g, o), its recurrent matrix in the layout
"GHDP" is `weight_hh_l0` viewed (4, 1, H, H), and its bias is `bias_ih_l0 + bias_hh_l0`. The input projection
runs outside the kernel, as one matmul over the whole sequence.

On GPU `flashrnn-fused` runs the fused CUDA kernel and `flashrnn-triton` the Triton one; on CPU both run
FlashRNN's pure-PyTorch reference loop (`vanilla`), which the exactness tests compare against `nn.LSTM`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from flashrnn import flashrnn as _flashrnn
from torch import nn

State = tuple[torch.Tensor, torch.Tensor]

_BACKENDS = {"flashrnn-fused": "cuda_fused", "flashrnn-triton": "triton_fused"}
_DTYPE_NAMES = {
    torch.float64: "float64", torch.float32: "float32", torch.bfloat16: "bfloat16", torch.float16: "float16",
}  # fmt: skip


def _all_states(lstm: nn.LSTM, x: torch.Tensor, state: State | None, backend: str) -> tuple[torch.Tensor, ...]:
    """(h, c) after every step, each (2, N, S, 1, H) stacked as FlashRNN returns them, and the last (2, N, 1, 1, H)."""
    n, steps, hidden = x.shape[0], x.shape[1], lstm.hidden_size
    projected = F.linear(x, lstm.weight_ih_l0)  # under autocast: its dtype is the kernel's
    dtype = projected.dtype
    recurrent = lstm.weight_hh_l0.to(dtype).view(4, 1, hidden, hidden)
    bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0).to(dtype).view(4, 1, hidden)
    initial = None if state is None else torch.stack([state[0][0], state[1][0]]).to(dtype)[:, :, None, None, :]
    return _flashrnn(
        projected.view(n, steps, 4, 1, hidden),
        recurrent,
        bias,
        states=initial,
        function="lstm",
        backend=_BACKENDS[backend] if x.is_cuda else "vanilla",
        dtype=_DTYPE_NAMES[dtype],
    )


def run(lstm: nn.LSTM, x: torch.Tensor, state: State | None, *, backend: str) -> tuple[torch.Tensor, State]:
    every, last = _all_states(lstm, x, state, backend)
    return every[0, :, :, 0], (last[0, :, 0, 0][None], last[1, :, 0, 0][None])


def final_state(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor, state: State, *, backend: str) -> State:
    """Rows of different lengths: the whole padded width runs, and each row's state is read at its own last step."""
    every, _ = _all_states(lstm, x, state, backend)
    rows = torch.arange(x.shape[0], device=x.device)
    picked = every[:, rows, (lengths - 1).to(x.device), 0]  # (2, N, H)
    return picked[0][None], picked[1][None]
