"""Full BPTT with activation checkpointing (Chen et al., 2016; Gruslys et al., 2016): `train.checkpoint_chunk`.

The main LSTM reads the sequence in chunks. Each chunk (embedding and LSTM) runs under
`torch.utils.checkpoint`: its forward keeps only its inputs (the token chunk and the (h, c) it starts from), and
backward recomputes its activations, one chunk at a time. Autograd then holds O(T / chunk + chunk) per example
instead of O(T), for one extra forward pass; the gradients are those of plain full BPTT. Nothing random runs in a
chunk (DropConnect sits in the heads), and checkpoint replays the RNG state anyway.

Cost (BENCHMARKS.md): on CPU the chunked backward works in cache and the step is no slower than plain full BPTT;
on GPU every chunk costs launches, so chunks of sqrt(T) steps are slow there and 256-1024 steps are the trade.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch.utils.checkpoint import checkpoint

from models.lstm import LSTMClassifier


def chunk_length(setting: int | Literal["sqrt"], seq_len: int) -> int:
    """Steps per checkpointed chunk: the setting, or ceil(sqrt(T)) for `sqrt`, which balances the T / chunk
    boundary states against the one chunk recomputed at a time."""
    return math.isqrt(seq_len - 1) + 1 if setting == "sqrt" else setting


def run_chunk(
    model: LSTMClassifier, tokens: torch.Tensor, h: torch.Tensor, c: torch.Tensor, at: torch.Tensor | None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """One chunk: the state after tokens (B, S[, C]) from (h, c) ((1, B, H) each), and each row's output at
    step `at` (B,) of the chunk (None: no row ends in it). Embedding inside, so no (B, T, d) input is held."""
    outputs, (h, c) = model.run(tokens, (h, c))
    picked = None if at is None else outputs[torch.arange(len(at), device=at.device), at]
    return h, c, picked


def checkpointed_final_h(model: LSTMClassifier, tokens: torch.Tensor, ends: torch.Tensor, chunk: int) -> torch.Tensor:
    """h after each row's last token, from a zero state, with gradient: (B, H).

    tokens (B, T[, C]); ends (B,) CPU int64 in [1, T], the true lengths of right-padded rows; chunk >= 1 steps.
    No (B, T, H) outputs are kept: a row's final h is picked in the chunk holding its end.
    """
    batch, device = tokens.shape[0], tokens.device
    shape, dtype = (1, batch, model.lstm.hidden_size), model.lstm.weight_hh_l0.dtype
    h, c = tokens.new_zeros(shape, dtype=dtype), tokens.new_zeros(shape, dtype=dtype)
    final = tokens.new_zeros(shape[1:], dtype=dtype)
    last = ends - 1
    for begin in range(0, int(ends.max()), chunk):  # steps past the longest row feed no loss
        stop = min(begin + chunk, tokens.shape[1])
        inside = (last >= begin) & (last < stop)  # CPU: which rows end here is known without a device sync
        at = (last - begin).clamp(0, stop - begin - 1).to(device) if bool(inside.any()) else None
        h, c, picked = checkpoint(run_chunk, model, tokens[:, begin:stop], h, c, at, use_reentrant=False)
        if picked is not None:
            final = torch.where(inside.to(device)[:, None], picked, final)
    return final
