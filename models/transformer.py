"""Transformer encoder baseline of size comparable to the LSTM (docs/method.md Q12): reads the whole sequence."""

from __future__ import annotations

import torch
from torch import nn

from models.catalog import KindInfo
from models.config import AuxConfig, ModelConfig
from models.embedding import TokenEmbedding
from models.heads import FeedForwardHead


class TransformerClassifier(nn.Module):
    """Token + learned position embeddings, pre-norm encoder, mean pooling over time, FFN classifier."""

    kind = "transformer"

    def __init__(self, cfg: ModelConfig, *, vocab_size: int, num_classes: int, seq_len: int, channels: int = 1) -> None:
        super().__init__()
        self.embed = TokenEmbedding(vocab_size, cfg.d_embed, channels, cfg.channel_embedding)
        self.position = nn.Parameter(torch.randn(seq_len, cfg.d_embed) * 0.02)
        layer = nn.TransformerEncoderLayer(
            cfg.d_embed,
            cfg.transformer_heads,
            cfg.transformer_ffn,
            dropout=cfg.transformer_dropout,
            batch_first=True,
            norm_first=True,
        )
        # Nested-tensor fast path is for padded batches; ours are dense, and it warns with norm_first.
        self.encoder = nn.TransformerEncoder(layer, cfg.transformer_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(cfg.d_embed)
        self.classifier = FeedForwardHead(
            cfg.d_embed, cfg.d_ffn, num_classes, n_hidden=cfg.ffn_layers, dropconnect=cfg.dropconnect
        )

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        """Class logits (B, classes) from tokens (B, T[, C]); `lengths` (B,) masks right padding."""
        x = self.embed(tokens) + self.position[: tokens.shape[1]]
        if lengths is None:
            return self.classifier(self.norm(self.encoder(x)).mean(dim=1))
        real = torch.arange(tokens.shape[1], device=tokens.device) < lengths[:, None]  # (B, T)
        encoded = self.norm(self.encoder(x, src_key_padding_mask=~real))
        pooled = (encoded * real[..., None]).sum(dim=1) / lengths[:, None]
        return self.classifier(pooled)


def build(
    cfg: ModelConfig, aux: AuxConfig, *, vocab_size: int, num_classes: int, seq_len: int, channels: int
) -> nn.Module:
    return TransformerClassifier(
        cfg, vocab_size=vocab_size, num_classes=num_classes, seq_len=seq_len, channels=channels
    )


INFO = KindInfo(
    name="transformer", paper_name="Transformer",
    description="a Transformer encoder of comparable size that reads the whole sequence (docs/method.md Q12)",
    build=build, recurrent=False, reads=("model.transformer_*",),
)  # fmt: skip
