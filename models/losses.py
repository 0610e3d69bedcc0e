"""The losses as pure tensor functions: the auxiliary token loss and how it combines with the supervised one.

No module state, no configs: the truncated step (`models.truncated`) computes logits and targets and calls these.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def aux_token_loss(
    logits: torch.Tensor, targets: torch.Tensor, vocab_size: int, anchor_valid: torch.Tensor | None = None
) -> torch.Tensor:
    """Cross-entropy of the auxiliary predictions: mean over the tokens (and channels) of each anchor, then over
    the anchors, so its scale depends on neither the segment length nor the number of anchors.

    logits: (N, S, C * vocab_size) for N anchors, S predicted steps, C channels; targets: (N, S[, C]) int64.
    anchor_valid: (N,) bool marking the anchors that count (those of examples long enough for a segment), or
    None (all count). With no valid anchor the loss is 0.
    """
    n = targets.shape[0]
    per_token = F.cross_entropy(logits.reshape(-1, vocab_size), targets.reshape(-1), reduction="none")
    per_anchor = per_token.view(n, -1).mean(1)
    if anchor_valid is None:
        return per_anchor.mean()
    weights = anchor_valid.to(per_anchor.device, per_anchor.dtype)
    return (per_anchor * weights).sum() / weights.sum().clamp(min=1)


def total_loss(main: torch.Tensor, aux: torch.Tensor, weight: float, pretraining: bool) -> torch.Tensor:
    """What is backpropagated: the auxiliary loss alone while pretraining, else supervised + weight × auxiliary."""
    return aux if pretraining else main + weight * aux
