"""The auxiliary network of r-LSTM and p-LSTM: a 2-layer LSTM started from the main state at an anchor.

Its bottom layer starts from the main LSTM's (h, c) at the anchor and its top layer from zeros [S]. The r-LSTM
decoder reads token embeddings of the segment before the anchor; the p-LSTM predictor reads the main LSTM's
outputs after it. Both end in a token softmax.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from models import kernels
from models.config import AuxConfig
from models.heads import FeedForwardHead

State = tuple[torch.Tensor, torch.Tensor]  # (h, c), each (1, N, H) as nn.LSTM takes them


class AuxLSTM(nn.Module):
    def __init__(
        self,
        d_in: int,
        d_main: int,
        vocab_size: int,
        cfg: AuxConfig,
        *,
        d_ffn: int,
        dropconnect: float,
        channels: int = 1,
        kernel: str = "auto",
    ) -> None:
        super().__init__()
        self.vocab_size, self.channels = vocab_size, channels
        d_bottom = d_main if cfg.decoder_init == "copy" else cfg.decoder_units
        self.init_proj = nn.Linear(2 * d_main, 2 * d_bottom) if cfg.decoder_init == "project" else None
        self.bottom = nn.LSTM(d_in, d_bottom, batch_first=True)
        self.top = nn.LSTM(d_bottom, cfg.decoder_units, batch_first=True)
        # One softmax per channel token: (..., channels * vocab_size) logits.
        self.head = FeedForwardHead(
            cfg.decoder_units, d_ffn, channels * vocab_size, n_hidden=1, dropconnect=dropconnect
        )
        self.chunk = cfg.decoder_truncation
        self.kernel = kernel  # model.recurrent_kernel (models.kernels)

    def initial_state(self, main_h: torch.Tensor, main_c: torch.Tensor) -> tuple[State, State]:
        """Bottom state from the main (h, c) at the anchor (each (N, d_main)); top state zeros."""
        if self.init_proj is not None:
            main_h, main_c = self.init_proj(torch.cat([main_h, main_c], dim=-1)).chunk(2, dim=-1)
        zeros = main_h.new_zeros(1, main_h.shape[0], self.top.hidden_size)
        return (main_h[None], main_c[None]), (zeros, zeros)

    def _step(self, x: torch.Tensor, states: tuple[State, State]) -> tuple[torch.Tensor, tuple[State, State]]:
        out, bottom = kernels.run(self.bottom, x, states[0], self.kernel)
        out, top = kernels.run(self.top, out, states[1], self.kernel)
        return out, (bottom, top)

    def forward(self, inputs: torch.Tensor, main_h: torch.Tensor, main_c: torch.Tensor) -> torch.Tensor:
        """Teacher-forced pass. inputs (N, S, d_in), main_h/main_c (N, d_main) -> logits (N, S, C * vocab)."""
        states = self.initial_state(main_h, main_c)
        chunk = self.chunk or inputs.shape[1]
        outputs = []
        for start in range(0, inputs.shape[1], chunk):
            if start:  # decoder BPTT truncation: no gradient between chunks
                states = tuple((h.detach(), c.detach()) for h, c in states)
            out, states = self._step(inputs[:, start : start + chunk], states)
            outputs.append(out)
        return self.head(torch.cat(outputs, dim=1))

    def free_running(
        self,
        first: torch.Tensor,
        steps: int,
        main_h: torch.Tensor,
        main_c: torch.Tensor,
        embed: Callable[[torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """Decoder fed its own argmax after the first token.

        first: (N,) tokens, or (N, C) for C channels -> logits (N, steps, C * vocab).
        """
        states = self.initial_state(main_h, main_c)
        token, logits = first, []
        for t in range(steps):
            if self.chunk and t and t % self.chunk == 0:
                states = tuple((h.detach(), c.detach()) for h, c in states)
            out, states = self._step(embed(token)[:, None], states)
            logits.append(self.head(out[:, 0]))
            token = logits[-1].view(len(first), self.channels, self.vocab_size).argmax(dim=-1).view_as(first)
        return torch.stack(logits, dim=1)
