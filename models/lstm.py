"""The main network: token embedding, 1-layer LSTM over the whole sequence, classifier on the final state.

With `kind` r_lstm or p_lstm it also owns the auxiliary LSTM. How gradients are truncated lives in
`models.truncated`; this module only holds the layers and the untruncated forward used for evaluation.
"""

from __future__ import annotations

import torch
from torch import nn

from models import kernels
from models.aux_lstm import AuxLSTM
from models.catalog import AUXILIARY_KEYS, RECONSTRUCTION_KEYS, RECURRENT_KEYS, KindInfo
from models.config import AuxConfig, ModelConfig
from models.embedding import TokenEmbedding
from models.heads import FeedForwardHead

# Steps per LSTM call in passes that keep only the final state (no-grad prefixes, evaluation): what one call
# allocates grows with its length. On GPU each call also costs launches, so calls are longer there; on CPU short
# calls cost no time and keep memory flat from about 2,000 steps on (BENCHMARKS.md).
CHUNK = {"cuda": 512, "cpu": 128}


def default_chunk(tokens: torch.Tensor) -> int:
    return CHUNK.get(tokens.device.type, CHUNK["cpu"])


class LSTMClassifier(nn.Module):
    def __init__(
        self, cfg: ModelConfig, aux: AuxConfig, *, vocab_size: int, num_classes: int, channels: int = 1
    ) -> None:
        super().__init__()
        self.kind = cfg.kind
        self.kernel = cfg.recurrent_kernel
        self.embed = TokenEmbedding(vocab_size, cfg.d_embed, channels, cfg.channel_embedding)
        self.lstm = nn.LSTM(cfg.d_embed, cfg.d_hidden, batch_first=True)
        self.classifier = FeedForwardHead(
            cfg.d_hidden, cfg.d_ffn, num_classes, n_hidden=cfg.ffn_layers, dropconnect=cfg.dropconnect
        )
        self.aux: AuxLSTM | None = None
        self.aux_embed: TokenEmbedding | None = None  # r-LSTM decoder's own table when not shared
        heads = {"d_ffn": cfg.d_ffn, "dropconnect": cfg.dropconnect, "channels": channels}
        from models.registry import MODELS  # here, not at the top: the registry imports this module

        auxiliary = MODELS[cfg.kind].auxiliary
        if auxiliary == "reconstruct":
            self.aux = AuxLSTM(cfg.d_embed, cfg.d_hidden, vocab_size, aux, kernel=self.kernel, **heads)
            if not aux.share_embedding:
                self.aux_embed = TokenEmbedding(vocab_size, cfg.d_embed, channels, cfg.channel_embedding)
        elif auxiliary == "predict":
            # Stacked on the main LSTM: it reads main outputs, not raw tokens (docs/method.md).
            self.aux = AuxLSTM(cfg.d_hidden, cfg.d_hidden, vocab_size, aux, kernel=self.kernel, **heads)

    def decoder_embed(self, tokens: torch.Tensor) -> torch.Tensor:
        return (self.aux_embed or self.embed)(tokens)

    def run(
        self, tokens: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Main LSTM over tokens (N, S[, C]) from state ((1, N, H) each, or zeros) -> outputs (N, S, H), state."""
        return kernels.run(self.lstm, self.embed(tokens), state, self.kernel)

    def advance(
        self,
        tokens: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
        chunk: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The state after reading tokens (N, S[, C]) from `state`, in LSTM calls of at most `chunk` steps.

        A call's memory (its embeddings, gates and outputs; cuDNN's workspace) grows with its length, so long
        passes that need only the final state stay bounded in memory this way.
        """
        chunk = chunk or default_chunk(tokens)
        for begin in range(0, tokens.shape[1], chunk):
            _, state = self.run(tokens[:, begin : begin + chunk], state)
        return state

    def advance_ragged(
        self,
        tokens: torch.Tensor,
        rows: torch.Tensor,
        starts: torch.Tensor,
        steps: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor],
        chunk: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The state (h, c), each (N, H), after reading tokens[rows[i], starts[i] : starts[i] + steps[i]] from
        state[.][i]: every row its own number of steps, in one packed call per `chunk` steps.

        tokens (B, T[, C]); rows (N,) on tokens' device; starts, steps (N,) CPU int64 with steps >= 1.
        """
        h, c = state
        chunk = chunk or default_chunk(tokens)
        for begin in range(0, int(steps.max()), chunk):
            now = (steps - begin).clamp(0, chunk)
            active = (now > 0).nonzero()[:, 0]
            lengths = now[active]
            width = int(lengths.max())
            positions = (starts[active] + begin)[:, None] + torch.arange(width)  # past a row's end: padding
            positions = positions.clamp(max=tokens.shape[1] - 1).to(tokens.device)
            active = active.to(tokens.device)
            inputs = self.embed(tokens[rows[active][:, None], positions])
            start = (h[active][None], c[active][None])
            h_new, c_new = kernels.final_state(self.lstm, inputs, lengths, start, self.kernel)
            h = h.index_copy(0, active, h_new[0].to(h.dtype))
            c = c.index_copy(0, active, c_new[0].to(c.dtype))
        return h, c

    def forward(
        self, tokens: torch.Tensor, lengths: torch.Tensor | None = None, chunk: int | None = None
    ) -> torch.Tensor:
        """Class logits (B, classes) from the state after each example's last token, read in chunks of steps.

        tokens: (B, T) or (B, T, C); lengths: (B,) true lengths of right-padded sequences, or None (all T).
        Memory stays bounded in T: no (B, T, H) outputs are kept.
        """
        chunk = chunk or default_chunk(tokens)
        if lengths is None:
            h, _ = self.advance(tokens, chunk=chunk)
            return self.classifier(h[0])
        rows = torch.arange(len(lengths), device=tokens.device)
        last = lengths - 1
        final: torch.Tensor | float = 0.0
        state = None
        for begin in range(0, tokens.shape[1], chunk):
            outputs, state = self.run(tokens[:, begin : begin + chunk], state)
            inside = (last >= begin) & (last < begin + outputs.shape[1])  # whose last token is in this chunk
            picked = outputs[rows, (last - begin).clamp(0, outputs.shape[1] - 1)]  # (B, H)
            final = torch.where(inside[:, None], picked, final)
        return self.classifier(final)


def build(
    cfg: ModelConfig, aux: AuxConfig, *, vocab_size: int, num_classes: int, seq_len: int, channels: int
) -> nn.Module:
    return LSTMClassifier(cfg, aux, vocab_size=vocab_size, num_classes=num_classes, channels=channels)


LSTM = KindInfo(
    name="lstm", paper_name="LSTM", description="the main LSTM and its classifier, no auxiliary loss",
    build=build, reads=RECURRENT_KEYS,
)  # fmt: skip
R_LSTM = KindInfo(
    name="r_lstm", paper_name="r-LSTM",
    description="LSTM + an auxiliary decoder that reconstructs the segment before each anchor",
    build=build, auxiliary="reconstruct", reads=RECURRENT_KEYS + AUXILIARY_KEYS + RECONSTRUCTION_KEYS,
)  # fmt: skip
P_LSTM = KindInfo(
    name="p_lstm", paper_name="p-LSTM",
    description="LSTM + an auxiliary LSTM stacked on it that predicts the segment after each anchor",
    build=build, auxiliary="predict", reads=RECURRENT_KEYS + AUXILIARY_KEYS,
)  # fmt: skip
