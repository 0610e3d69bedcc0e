"""Feed-forward heads: the classifier on the final state and the token softmax of the auxiliary LSTMs."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class DropConnectLinear(nn.Linear):
    """Linear layer whose weights (not activations) are dropped while training (Wan et al., 2013)."""

    def __init__(self, d_in: int, d_out: int, p: float) -> None:
        super().__init__(d_in, d_out)
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = F.dropout(self.weight, self.p, self.training) if self.p > 0 else self.weight
        return F.linear(x, weight, self.bias)


class FeedForwardHead(nn.Module):
    """`n_hidden` ReLU layers of width `d_hidden`, then a DropConnect output layer: (..., d_in) -> (..., d_out)."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int, *, n_hidden: int, dropconnect: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for i in range(n_hidden):
            layers += [nn.Linear(d_in if i == 0 else d_hidden, d_hidden), nn.ReLU()]
        self.hidden = nn.Sequential(*layers)
        self.out = DropConnectLinear(d_hidden if n_hidden else d_in, d_out, dropconnect)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.hidden(x))
