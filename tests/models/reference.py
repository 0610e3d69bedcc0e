"""A deliberately naive reference of the truncated losses: one example, one time step at a time.

Every window re-runs the main LSTM from position 0 and detaches the state exactly where the window starts,
so it shares nothing with the fast path's split no-grad pass, index gathering or batched decoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from models.config import AuxConfig, TrainConfig
from models.lstm import LSTMClassifier


def _detached(state):
    return None if state is None else tuple(s.detach() for s in state)


def main_states(model: LSTMClassifier, tokens: torch.Tensor, stop: int, detach_at: int | None):
    """Step through tokens[:stop] ((T,) or (T, C)); the list of (h_t, c_t), detached before `detach_at`."""
    state, states = None, []
    for t in range(stop):
        if t == detach_at:
            state = _detached(state)
        _, state = model.lstm(model.embed(tokens[t][None, None]), state)
        states.append((state[0][0, 0], state[1][0, 0]))
    return states


def token_loss(model: LSTMClassifier, logit: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Cross-entropy of one step's (C * V,) logits against its (C,) or scalar target, averaged over channels."""
    return F.cross_entropy(logit.view(-1, model.aux.vocab_size), target.reshape(-1))


def aux_step_logits(model: LSTMClassifier, inputs, h, c, chunk: int | None, feedback=None):
    """Run the 2-layer auxiliary LSTM one step at a time from the main (h, c).

    inputs: list of (d_in,) vectors; with `feedback`, only inputs[0] is used and feedback(logit) gives the next.
    """
    aux = model.aux
    if aux.init_proj is not None:
        h, c = aux.init_proj(torch.cat([h, c])).chunk(2)
    bottom = (h.view(1, 1, -1), c.view(1, 1, -1))
    zeros = h.new_zeros(1, 1, aux.top.hidden_size)
    top = (zeros, zeros)
    logits, x = [], inputs[0]
    for j in range(len(inputs)):
        if chunk and j and j % chunk == 0:
            bottom, top = _detached(bottom), _detached(top)
        if j and feedback is None:
            x = inputs[j]
        out, bottom = aux.bottom(x.view(1, 1, -1), bottom)
        out, top = aux.top(out, top)
        logits.append(aux.head(out[0, 0]))
        if feedback is not None:
            x = feedback(logits[-1])
    return logits


def _argmax_feedback(model: LSTMClassifier, token_shape: torch.Size):
    """Free-running decoder input: the embedding of the argmax token of each channel."""
    vocab = model.aux.vocab_size
    return lambda logit: model.decoder_embed(logit.view(-1, vocab).argmax(-1).view(token_shape))


def naive_loss_terms(
    model: LSTMClassifier, tokens, labels, anchors, *, train: TrainConfig, aux: AuxConfig, phase: str,
    lengths=None, anchor_valid=None, segment_offsets=None,
):  # fmt: skip
    batch, seq_len = tokens.shape[:2]
    ends = [seq_len] * batch if lengths is None else lengths.tolist()
    zero = torch.zeros((), dtype=model.lstm.weight_hh_l0.dtype)
    main = zero
    if phase == "joint":
        K = train.truncation
        losses = []
        for b in range(batch):
            detach_at = ends[b] - K if K is not None and K < ends[b] else None
            h, _ = main_states(model, tokens[b], ends[b], detach_at)[-1]
            if train.supervised_grad == "head_only":
                h = h.detach()
            losses.append(F.cross_entropy(model.classifier(h)[None], labels[b : b + 1]))
        main = torch.stack(losses).mean()

    aux_loss = zero
    if model.aux is not None and anchors is not None:
        L, G = aux.segment_len, aux.truncation
        per_anchor = []
        for b in range(batch):
            if anchor_valid is not None and not anchor_valid[b]:
                continue
            for m, a in enumerate(anchors[b].tolist()):
                if model.kind == "r_lstm":
                    window = min(G, L + 1)
                    h, c = main_states(model, tokens[b], a + 1, a - window + 1)[a]
                    end = a - (0 if segment_offsets is None else int(segment_offsets[b, m]))
                    segment = tokens[b, end - L : end]
                    embed = model.decoder_embed
                    inputs = [embed(segment[j]) for j in range(L - 1)]
                    feedback = None if aux.teacher_forcing else _argmax_feedback(model, segment[0].shape)
                    logits = aux_step_logits(model, inputs, h, c, aux.decoder_truncation, feedback)
                    targets = segment[1:]
                else:
                    window = min(G, L - 1)
                    states = main_states(model, tokens[b], a + L, a + 1)
                    h, c = (s.detach() for s in states[a])
                    inputs = [states[a + j][0] if 1 <= j <= window else states[a + j][0].detach() for j in range(L)]
                    logits = aux_step_logits(model, inputs, h, c, aux.decoder_truncation)
                    targets = tokens[b, a + 1 : a + L + 1]
                per_anchor.append(torch.stack([token_loss(model, lg, t) for lg, t in zip(logits, targets)]).mean())
        aux_loss = torch.stack(per_anchor).mean()

    total = aux_loss if phase == "pretrain" else main + aux.weight * aux_loss
    return total, main, aux_loss
