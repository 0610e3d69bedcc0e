"""Token embedding for one or several tokens per step (RGB pixels: three channel values per step)."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn


class TokenEmbedding(nn.Module):
    """(..., ) tokens -> (..., d) for one channel; (..., C) tokens -> (..., d) for C channels.

    Channels are embedded with a table each, then summed (`sum`: each table d wide) or concatenated (`concat`:
    d split as evenly as possible between the tables) (docs/method.md Q3).
    """

    def __init__(self, vocab_size: int, d: int, channels: int = 1, mode: Literal["sum", "concat"] = "sum") -> None:
        super().__init__()
        self.channels, self.mode = channels, mode
        if channels == 1:
            widths = [d]
        elif mode == "sum":
            widths = [d] * channels
        else:
            widths = [d // channels + (i < d % channels) for i in range(channels)]
        self.tables = nn.ModuleList(nn.Embedding(vocab_size, w) for w in widths)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        if self.channels == 1:
            return self.tables[0](tokens)
        parts = [table(tokens[..., c]) for c, table in enumerate(self.tables)]
        return torch.stack(parts).sum(0) if self.mode == "sum" else torch.cat(parts, dim=-1)
