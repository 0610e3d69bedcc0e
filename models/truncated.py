"""Truncated-BPTT losses with the main LSTM run forward once per batch.

Positions are 0-based and s_t is the main state after reading tokens[:, :t+1]. One no-grad pass over the
sequence, split at the start of every gradient window, records the detached state each window starts from;
then each window runs with gradient. No Python loop over time steps or over examples: per-example anchors
become gathered index windows, all of one length.

Windows (T sequence length, K = train.truncation, L = aux.segment_len, G = aux.truncation, a an anchor):
- supervised: positions [T-K, T) -> h_{T-1} -> classifier; full BPTT runs [0, T) from zeros.
- r-LSTM: positions [a-W+1, a] with W = min(G, L+1) give (h_a, c_a), which start the decoder; the decoder
  reads tokens a-L .. a-2 and predicts a-L+1 .. a-1 (the segment right before the anchor, §2.5).
- p-LSTM: stop-gradient at s_a; positions [a+1, a+W] with W = min(G, L-1) carry gradient and the rest of
  the segment is run without it; the predictor reads h_a .. h_{a+L-1} and predicts tokens a+1 .. a+L.
Windows may overlap: each loss still reaches only its own window (paper §5.3, point 6).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from models.config import AuxConfig, TrainConfig
from models.lstm import LSTMClassifier

Phase = Literal["pretrain", "joint"]


@dataclass(frozen=True)
class LossTerms:
    total: torch.Tensor  # what is backpropagated
    main: torch.Tensor  # supervised cross-entropy (zero while pretraining)
    aux: torch.Tensor  # auxiliary token cross-entropy (zero without an auxiliary loss)
    logits: torch.Tensor | None  # class logits (B, C) of the supervised loss, when it was computed


def anchor_bounds(kind: str, seq_len: int, segment_len: int) -> tuple[int, int]:
    """Inclusive range of valid anchors: the L tokens before (r-LSTM) or after (p-LSTM) must exist."""
    if kind == "r_lstm":
        return segment_len, seq_len - 1
    if kind == "p_lstm":
        return 0, seq_len - 1 - segment_len
    raise ValueError(f"model kind {kind!r} has no anchors")


def sample_anchors(
    batch_size: int, seq_len: int, kind: str, aux: AuxConfig, generator: torch.Generator
) -> torch.Tensor:
    """Uniform anchors over the valid positions, fresh at every call: (B, aux.anchors) int64 on the CPU."""
    low, high = anchor_bounds(kind, seq_len, aux.segment_len)
    rows = batch_size if aux.anchor_sampling == "per_example" else 1
    anchors = torch.randint(low, high + 1, (rows, aux.anchors), generator=generator)
    return anchors.expand(batch_size, -1)


@torch.no_grad()
def prefix_states(
    model: LSTMClassifier, tokens: torch.Tensor, cuts: torch.Tensor, rows: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Detached main state after reading tokens[rows[i], :cuts[i]] (zeros for cut 0), each (N, H).

    One pass over the batch, split at the sorted unique cuts: at most N + 1 cuDNN calls, none per time step.
    `cuts` and `rows` are CPU int64 tensors of shape (N,); the pass stops at the largest cut.
    """
    order = torch.argsort(cuts, stable=True)
    unique_cuts, counts = torch.unique_consecutive(cuts[order], return_counts=True)
    sorted_rows = rows[order].to(tokens.device)
    hidden = model.lstm.hidden_size
    dtype = model.lstm.weight_hh_l0.dtype
    state: tuple[torch.Tensor, torch.Tensor] | None = None
    position, offset, hs, cs = 0, 0, [], []
    for cut, count in zip(unique_cuts.tolist(), counts.tolist()):
        if cut > position:
            _, state = model.run(tokens[:, position:cut], state)
            position = cut
        wanted = sorted_rows[offset : offset + count]
        offset += count
        if state is None:
            hs.append(tokens.new_zeros((count, hidden), dtype=dtype))
            cs.append(tokens.new_zeros((count, hidden), dtype=dtype))
        else:
            hs.append(state[0][0].index_select(0, wanted))
            cs.append(state[1][0].index_select(0, wanted))
    unsort = torch.argsort(order).to(tokens.device)
    return torch.cat(hs)[unsort], torch.cat(cs)[unsort]


def _gather(tokens: torch.Tensor, rows: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    """tokens[rows[i], starts[i] : starts[i] + length] for every i: (N, length)."""
    positions = starts[:, None] + torch.arange(length, device=tokens.device)
    return tokens[rows[:, None], positions]


def lstm_loss_terms(
    model: LSTMClassifier,
    tokens: torch.Tensor,
    labels: torch.Tensor,
    anchors: torch.Tensor | None,
    *,
    train: TrainConfig,
    aux: AuxConfig,
    phase: Phase,
) -> LossTerms:
    """Losses of one batch. tokens (B, T) int64, labels (B,), anchors (B, A) CPU int64 or None (plain LSTM)."""
    batch, seq_len = tokens.shape
    device = tokens.device
    supervised = phase == "joint"
    use_aux = model.aux is not None and anchors is not None
    full_bptt = train.truncation is None or train.truncation >= seq_len
    head_only = train.supervised_grad == "head_only"

    # (start position, batch row) of every window whose detached start state the no-grad pass records.
    requests: list[tuple[torch.Tensor, torch.Tensor]] = []
    if supervised and (head_only or not full_bptt):
        sup_cut = seq_len if head_only else seq_len - train.truncation
        requests.append((torch.full((batch,), sup_cut), torch.arange(batch)))
    if use_aux:
        flat_anchors = anchors.reshape(-1)
        if model.kind == "r_lstm":
            aux_window = min(aux.truncation, aux.segment_len + 1)
            aux_cuts = flat_anchors - aux_window + 1
        else:
            aux_window = min(aux.truncation, aux.segment_len - 1)
            aux_cuts = flat_anchors + 1  # the stop-gradient sits at s_a
        requests.append((aux_cuts, torch.arange(batch).repeat_interleave(anchors.shape[1])))
    if requests:
        h0, c0 = prefix_states(model, tokens, *(torch.cat(parts) for parts in zip(*requests)))

    zero = tokens.new_zeros((), dtype=model.lstm.weight_hh_l0.dtype)
    main, logits = zero, None
    if supervised:
        if head_only:
            final_h = h0[:batch]  # recorded without gradient: the supervised loss trains the head alone
        elif full_bptt:
            _, (final_h, _) = model.run(tokens)
            final_h = final_h[0]
        else:
            start = (h0[:batch][None], c0[:batch][None])
            _, (final_h, _) = model.run(tokens[:, seq_len - train.truncation :], start)
            final_h = final_h[0]
        logits = model.classifier(final_h)
        main = F.cross_entropy(logits, labels)

    aux_loss = zero
    if use_aux:
        n = flat_anchors.shape[0]
        rows = torch.arange(batch, device=device).repeat_interleave(anchors.shape[1])
        a = flat_anchors.to(device)
        h_start, c_start = h0[-n:], c0[-n:]
        L = aux.segment_len
        if model.kind == "r_lstm":
            window = _gather(tokens, rows, a - aux_window + 1, aux_window)
            _, (h_a, c_a) = model.run(window, (h_start[None], c_start[None]))
            segment = _gather(tokens, rows, a - L, L)
            if aux.teacher_forcing:
                aux_logits = model.aux(model.decoder_embed(segment[:, :-1]), h_a[0], c_a[0])
            else:
                aux_logits = model.aux.free_running(segment[:, 0], L - 1, h_a[0], c_a[0], model.decoder_embed)
            targets = segment[:, 1:]
        else:
            inputs = [h_start[:, None]]  # h_a, a constant: the stop-gradient at the anchor
            state = (h_start[None], c_start[None])
            if aux_window > 0:
                out, state = model.run(_gather(tokens, rows, a + 1, aux_window), state)
                inputs.append(out)
            if L - 1 > aux_window:
                with torch.no_grad():  # beyond aux.truncation: main outputs still needed, gradient not
                    out, _ = model.run(_gather(tokens, rows, a + 1 + aux_window, L - 1 - aux_window), state)
                inputs.append(out)
            aux_logits = model.aux(torch.cat(inputs, dim=1), h_start, c_start)
            targets = _gather(tokens, rows, a + 1, L)
        # Mean over tokens and anchors, so the scale does not depend on L or the anchor count (§7 Q8).
        aux_loss = F.cross_entropy(aux_logits.reshape(-1, aux_logits.shape[-1]), targets.reshape(-1))

    total = aux_loss if phase == "pretrain" else main + aux.weight * aux_loss
    return LossTerms(total=total, main=main, aux=aux_loss, logits=logits)
