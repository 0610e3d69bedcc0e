"""Truncated-BPTT losses with the main LSTM run forward once per batch.

Positions are 0-based and s_t is the main state after reading tokens[:, :t+1]. One no-grad pass over the
sequence, split at the start of every gradient window, records the detached state each window starts from;
then each window runs with gradient. No Python loop over time steps or over examples: per-example anchors
become gathered index windows, all of one length.

Windows (T sequence length, K = train.truncation, L = aux.segment_len, G = aux.truncation, a an anchor):
- supervised: positions [T-K, T) -> h_{T-1} -> classifier; full BPTT runs [0, T) from zeros, in recomputed
  chunks with `train.checkpoint_chunk` (`models.checkpointed`). For right-padded variable-length batches T is
  each example's own length.
- r-LSTM: positions [a-W+1, a] with W = min(G, L+1) give (h_a, c_a), which start the decoder; the decoder
  reads tokens a-L .. a-2 and predicts a-L+1 .. a-1 (the segment right before the anchor), or all of
  them o tokens earlier with a per-anchor random offset o in [0, a-L] (docs/method.md Q5).
- p-LSTM: stop-gradient at s_a; positions [a+1, a+W] with W = min(G, L-1) carry gradient and the rest of
  the segment is run without it; the predictor reads h_a .. h_{a+L-1} and predicts tokens a+1 .. a+L.
Windows may overlap: each loss still reaches only its own window (docs/method.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F

from models.checkpointed import checkpointed_final_h, chunk_length
from models.config import AuxConfig, TrainConfig
from models.losses import aux_token_loss, total_loss
from models.lstm import LSTMClassifier
from models.registry import MODELS

Phase = Literal["pretrain", "joint"]


@dataclass(frozen=True)
class LossTerms:
    total: torch.Tensor  # what is backpropagated
    main: torch.Tensor  # supervised cross-entropy (zero while pretraining)
    aux: torch.Tensor  # auxiliary token cross-entropy (zero without an auxiliary loss)
    logits: torch.Tensor | None  # class logits (B, C) of the supervised loss, when it was computed


def _reconstructs(kind: str) -> bool:
    """Whether the kind's auxiliary loss reconstructs the segment before an anchor (r-LSTM), not predicts the one
    after it (p-LSTM): what every window below depends on (`models.MODELS`)."""
    return MODELS[kind].auxiliary == "reconstruct"


def anchor_bounds(kind: str, seq_len: int, segment_len: int) -> tuple[int, int]:
    """Inclusive range of valid anchors: the L tokens before (r-LSTM) or after (p-LSTM) must exist."""
    task = MODELS[kind].auxiliary if kind in MODELS else None
    if task == "reconstruct":
        return segment_len, seq_len - 1
    if task == "predict":
        return 0, seq_len - 1 - segment_len
    raise ValueError(f"model kind {kind!r} has no anchors")


def auxiliary_window(kind: str, aux: AuxConfig) -> int:
    """Steps of the main LSTM that the auxiliary loss backpropagates into (the module docstring's W)."""
    if _reconstructs(kind):
        return min(aux.truncation, aux.segment_len + 1)
    return min(aux.truncation, aux.segment_len - 1)


def aux_window_cuts(kind: str, anchors: torch.Tensor, window: int) -> torch.Tensor:
    """Where each anchor's gradient window starts: the position whose detached state it starts from."""
    if _reconstructs(kind):
        return anchors - window + 1
    return anchors + 1  # p-LSTM: the stop-gradient sits at s_a


def sample_anchors(
    batch_size: int,
    seq_len: int,
    kind: str,
    aux: AuxConfig,
    generator: torch.Generator,
    lengths: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Uniform anchors over the valid positions, fresh at every call: (B, aux.anchors) int64 on the CPU.

    With `lengths` (B,) (CPU, right-padded sequences) anchors stay inside each example's real tokens; the second
    result then marks the examples long enough to hold a segment (the others get a placeholder anchor and no
    auxiliary loss). Without lengths it is None.
    """
    low, high = anchor_bounds(kind, seq_len, aux.segment_len)
    rows = batch_size if aux.anchor_sampling == "per_example" else 1
    if lengths is None:
        anchors = torch.randint(low, high + 1, (rows, aux.anchors), generator=generator)
        return anchors.expand(batch_size, -1), None
    highs = lengths - 1 - (0 if _reconstructs(kind) else aux.segment_len)  # (B,) last valid anchor per example
    valid = highs >= low
    if aux.anchor_sampling == "per_example":
        span = (highs - low + 1).clamp(min=1)
        anchors = low + (torch.rand((batch_size, aux.anchors), generator=generator) * span[:, None]).long()
    else:  # one position that is valid in every example that can hold a segment
        top = int(highs[valid].min()) if valid.any() else low
        anchors = torch.randint(low, top + 1, (1, aux.anchors), generator=generator).expand(batch_size, -1)
    return torch.where(valid[:, None], anchors, low), valid


def sample_segment_offsets(anchors: torch.Tensor, segment_len: int, generator: torch.Generator) -> torch.Tensor:
    """For `aux.segment_offset: random`: per anchor a uniform offset in [0, a - L], so the r-LSTM segment
    [a - o - L, a - o) still starts inside the sequence. anchors (B, A) CPU -> (B, A) CPU int64."""
    span = anchors - segment_len + 1
    return (torch.rand(anchors.shape, generator=generator) * span).long()


Strategy = Literal["auto", "split", "packed"]


PACKED_MAX_STEPS = 1024


@torch.no_grad()
def prefix_states(
    model: LSTMClassifier,
    tokens: torch.Tensor,
    cuts: torch.Tensor,
    rows: torch.Tensor,
    chunk: int | None = None,
    strategy: Strategy = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Detached main state after reading tokens[rows[i], :cuts[i]] (zeros for cut 0), each (N, H).

    `cuts` and `rows` are CPU int64 tensors of shape (N,). Both strategies give the same states and run LSTM calls
    of at most `chunk` steps (default: `models.lstm.CHUNK` for the device), so memory does not grow with T:
    - "split": one pass over the whole batch, split at every distinct cut (N + 1 + T / chunk calls at most).
      On CPU its many short calls cost what one long call does.
    - "packed": each row advances from one of its cuts to the next in stages, all rows of a stage in one packed
      call of varying lengths (requests per row × T / chunk calls). On GPU a call costs a launch per step, so
      this saves the ~B short calls of per-example anchors.
    "auto" takes "packed" on GPU for sequences up to PACKED_MAX_STEPS and "split" elsewhere: on an H200 packed took
    ~10 ms less at 784 steps, the same at 1,024 and 4-12x more from 4,096 (its packed calls run step by step over
    the longest row; BENCHMARKS.md, GPU).
    """
    if strategy == "auto":
        strategy = "packed" if tokens.is_cuda and tokens.shape[1] <= PACKED_MAX_STEPS else "split"
    if strategy == "packed":
        return _packed_prefix_states(model, tokens, cuts, rows, chunk)
    return _split_prefix_states(model, tokens, cuts, rows, chunk)


def _zero_states(model: LSTMClassifier, tokens: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    shape = (n, model.lstm.hidden_size)
    dtype = model.lstm.weight_hh_l0.dtype
    return tokens.new_zeros(shape, dtype=dtype), tokens.new_zeros(shape, dtype=dtype)


def _split_prefix_states(model, tokens, cuts, rows, chunk):
    order = torch.argsort(cuts, stable=True)
    unique_cuts, counts = torch.unique_consecutive(cuts[order], return_counts=True)
    sorted_rows = rows[order].to(tokens.device)
    state: tuple[torch.Tensor, torch.Tensor] | None = None
    position, offset, hs, cs = 0, 0, [], []
    for cut, count in zip(unique_cuts.tolist(), counts.tolist()):
        if cut > position:
            state = model.advance(tokens[:, position:cut], state, chunk)
            position = cut
        wanted = sorted_rows[offset : offset + count]
        offset += count
        if state is None:
            h, c = _zero_states(model, tokens, count)
            hs.append(h)
            cs.append(c)
        else:
            hs.append(state[0][0].index_select(0, wanted))
            cs.append(state[1][0].index_select(0, wanted))
    unsort = torch.argsort(order).to(tokens.device)
    return torch.cat(hs)[unsort], torch.cat(cs)[unsort]


def _packed_prefix_states(model, tokens, cuts, rows, chunk):
    # Stage j serves every row's (j+1)-th smallest cut, advancing the row from its previous cut.
    by_cut = torch.argsort(cuts, stable=True)
    order = by_cut[torch.argsort(rows[by_cut], stable=True)]  # by row, then by cut
    sorted_rows, sorted_cuts = rows[order], cuts[order]
    first = torch.searchsorted(sorted_rows, sorted_rows)  # index of each row's first request
    stage = torch.arange(len(order)) - first
    h_all, c_all = _zero_states(model, tokens, len(tokens))  # each row's state at its `position`
    position = torch.zeros(len(tokens), dtype=torch.long)
    h_out, c_out = _zero_states(model, tokens, len(order))
    for j in range(int(stage.max()) + 1 if len(order) else 0):
        picked = (stage == j).nonzero()[:, 0]
        r, cut = sorted_rows[picked], sorted_cuts[picked]
        steps = cut - position[r]
        moving = steps > 0
        if moving.any():
            r_dev = r[moving].to(tokens.device)
            h, c = model.advance_ragged(
                tokens, r_dev, position[r[moving]], steps[moving], (h_all[r_dev], c_all[r_dev]), chunk
            )
            h_all[r_dev], c_all[r_dev] = h.to(h_all.dtype), c.to(c_all.dtype)
            position[r[moving]] = cut[moving]
        r_dev, at = r.to(tokens.device), order[picked].to(tokens.device)
        h_out[at], c_out[at] = h_all[r_dev], c_all[r_dev]
    return h_out, c_out


def _gather(tokens: torch.Tensor, rows: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    """tokens[rows[i], starts[i] : starts[i] + length] for every i: (N, length)."""
    positions = starts[:, None] + torch.arange(length, device=tokens.device)
    return tokens[rows[:, None], positions]


def _reconstruction(
    model: LSTMClassifier,
    tokens: torch.Tensor,
    rows: torch.Tensor,
    a: torch.Tensor,
    segment_ends: torch.Tensor,
    h_start: torch.Tensor,
    c_start: torch.Tensor,
    aux: AuxConfig,
    window: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """r-LSTM: main LSTM over [a-window+1, a] with gradient, then the decoder over the L tokens before
    `segment_ends` (the anchor itself unless the segment is offset).

    Returns logits (N, L-1, C*V) and targets (N, L-1[, C]).
    """
    L = aux.segment_len
    _, (h_a, c_a) = model.run(_gather(tokens, rows, a - window + 1, window), (h_start[None], c_start[None]))
    segment = _gather(tokens, rows, segment_ends - L, L)
    if aux.teacher_forcing:
        logits = model.aux(model.decoder_embed(segment[:, :-1]), h_a[0], c_a[0])
    else:
        logits = model.aux.free_running(segment[:, 0], L - 1, h_a[0], c_a[0], model.decoder_embed)
    return logits, segment[:, 1:]


def _prediction(
    model: LSTMClassifier,
    tokens: torch.Tensor,
    rows: torch.Tensor,
    a: torch.Tensor,
    h_start: torch.Tensor,
    c_start: torch.Tensor,
    aux: AuxConfig,
    window: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """p-LSTM: main outputs h_a .. h_{a+L-1} (gradient only on [a+1, a+window]) into the stacked predictor.

    Returns logits (N, L, C*V) and targets (N, L[, C]): the tokens a+1 .. a+L.
    """
    L = aux.segment_len
    inputs = [h_start[:, None]]  # h_a, a constant: the stop-gradient at the anchor
    state = (h_start[None], c_start[None])
    if window > 0:
        out, state = model.run(_gather(tokens, rows, a + 1, window), state)
        inputs.append(out)
    if L - 1 > window:
        with torch.no_grad():  # beyond aux.truncation: main outputs still needed, gradient not
            out, _ = model.run(_gather(tokens, rows, a + 1 + window, L - 1 - window), state)
        inputs.append(out)
    return model.aux(torch.cat(inputs, dim=1), h_start, c_start), _gather(tokens, rows, a + 1, L)


def lstm_loss_terms(
    model: LSTMClassifier,
    tokens: torch.Tensor,
    labels: torch.Tensor,
    anchors: torch.Tensor | None,
    *,
    train: TrainConfig,
    aux: AuxConfig,
    phase: Phase,
    lengths: torch.Tensor | None = None,
    anchor_valid: torch.Tensor | None = None,
    segment_offsets: torch.Tensor | None = None,
) -> LossTerms:
    """Losses of one batch.

    tokens: (B, T) or (B, T, C) int64; labels (B,); anchors (B, A) CPU int64 or None (no auxiliary loss);
    lengths: (B,) true lengths of right-padded sequences or None (all T); anchor_valid: (B,) CPU bool marking
    the examples whose anchors count (from `sample_anchors`), or None (all); segment_offsets: (B, A) CPU
    int64, how many tokens before each anchor the r-LSTM segment ends (from `sample_segment_offsets`), or None.
    """
    batch, seq_len = tokens.shape[:2]
    device = tokens.device
    supervised = phase == "joint"
    use_aux = model.aux is not None and anchors is not None
    head_only = train.supervised_grad == "head_only"
    window = seq_len if train.truncation is None else min(train.truncation, seq_len)
    ends = torch.full((batch,), seq_len) if lengths is None else lengths.cpu()  # supervised loss reads h_{end-1}
    starts = (ends - window).clamp(min=0)
    rows = torch.arange(batch, device=device)

    # (start position, batch row) of every window whose detached start state the no-grad pass records.
    requests: list[tuple[torch.Tensor, torch.Tensor]] = []
    if supervised and (head_only or window < seq_len):
        requests.append((ends if head_only else starts, torch.arange(batch)))
    if use_aux:
        flat_anchors = anchors.reshape(-1)
        aux_window = auxiliary_window(model.kind, aux)
        cuts = aux_window_cuts(model.kind, flat_anchors, aux_window)
        requests.append((cuts, torch.arange(batch).repeat_interleave(anchors.shape[1])))
    if requests:
        h0, c0 = prefix_states(model, tokens, *(torch.cat(parts) for parts in zip(*requests)))

    zero = tokens.new_zeros((), dtype=model.lstm.weight_hh_l0.dtype)
    main, logits = zero, None
    if supervised:
        if head_only:
            final_h = h0[:batch]  # recorded without gradient: the supervised loss trains the head alone
        elif window == seq_len and train.checkpoint_chunk is not None:
            final_h = checkpointed_final_h(model, tokens, ends, chunk_length(train.checkpoint_chunk, seq_len))
        else:
            start_state = None if window == seq_len else (h0[:batch][None], c0[:batch][None])
            starts_dev = starts.to(device)
            outputs, _ = model.run(_gather(tokens, rows, starts_dev, window), start_state)
            final_h = outputs[rows, ends.to(device) - 1 - starts_dev]
        logits = model.classifier(final_h)
        main = F.cross_entropy(logits, labels)

    aux_loss = zero
    if use_aux:
        n = flat_anchors.shape[0]
        anchor_rows = rows.repeat_interleave(anchors.shape[1])
        a = flat_anchors.to(device)
        if _reconstructs(model.kind):
            ends = a if segment_offsets is None else a - segment_offsets.reshape(-1).to(device)
            aux_logits, targets = _reconstruction(
                model, tokens, anchor_rows, a, ends, h0[-n:], c0[-n:], aux, aux_window
            )
        else:
            aux_logits, targets = _prediction(model, tokens, anchor_rows, a, h0[-n:], c0[-n:], aux, aux_window)
        valid = None if anchor_valid is None else anchor_valid.repeat_interleave(anchors.shape[1])
        aux_loss = aux_token_loss(aux_logits, targets, model.aux.vocab_size, valid)

    total = total_loss(main, aux_loss, aux.weight, pretraining=phase == "pretrain")
    return LossTerms(total=total, main=main, aux=aux_loss, logits=logits)
