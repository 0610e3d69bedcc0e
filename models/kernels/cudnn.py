"""PyTorch's own LSTM call: cuDNN on GPU (its persistent kernels where PyTorch picks them), ATen on CPU."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

State = tuple[torch.Tensor, torch.Tensor]


def run(lstm: nn.LSTM, x: torch.Tensor, state: State | None) -> tuple[torch.Tensor, State]:
    return lstm(x, state)


def final_state(lstm: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor, state: State) -> State:
    """Rows of different lengths in one call: packed, so each row's state stops at its own last step."""
    if bool((lengths < x.shape[1]).any()):
        x = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    _, final = lstm(x, state)
    return final
