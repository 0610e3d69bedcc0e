"""The fast truncated step against the naive reference, and which positions each loss reaches."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models.truncated import anchor_bounds, lstm_loss_terms, sample_anchors, sample_segment_offsets
from tests.models.conftest import SEQ_LEN, TINY_AUX, TINY_TRAIN, tiny_model
from tests.models.reference import main_states, naive_loss_terms

CASES = {
    "lstm-truncated": ("lstm", {}, {}, "joint"),
    "lstm-full": ("lstm", {}, {"truncation": None}, "joint"),
    "lstm-head-only": ("lstm", {}, {"supervised_grad": "head_only"}, "joint"),
    "r-truncated": ("r_lstm", {}, {}, "joint"),
    "r-full": ("r_lstm", {}, {"truncation": None}, "joint"),
    "r-pretrain": ("r_lstm", {}, {}, "pretrain"),
    "r-head-only": ("r_lstm", {}, {"supervised_grad": "head_only"}, "joint"),
    "r-long-aux-window": ("r_lstm", {"truncation": 50}, {}, "joint"),
    "r-per-batch": ("r_lstm", {"anchor_sampling": "per_batch"}, {}, "joint"),
    "r-project": ("r_lstm", {"decoder_init": "project"}, {}, "joint"),
    "r-decoder-chunks": ("r_lstm", {"decoder_truncation": 2}, {}, "joint"),
    "r-free-running": ("r_lstm", {"teacher_forcing": False}, {}, "joint"),
    "r-own-embedding": ("r_lstm", {"share_embedding": False}, {}, "joint"),
    "r-random-offset": ("r_lstm", {"segment_offset": "random"}, {}, "joint"),
    "p-truncated": ("p_lstm", {}, {}, "joint"),
    "p-full": ("p_lstm", {}, {"truncation": None}, "joint"),
    "p-pretrain": ("p_lstm", {}, {}, "pretrain"),
    "p-short-aux-window": ("p_lstm", {"truncation": 1}, {}, "joint"),
    "p-project-chunks": ("p_lstm", {"decoder_init": "project", "decoder_truncation": 3}, {}, "joint"),
}


@pytest.fixture
def ce_targets(monkeypatch) -> list[torch.Tensor]:
    """The targets of every cross-entropy computed during the test, in order."""
    real_ce = torch.nn.functional.cross_entropy
    seen: list[torch.Tensor] = []

    def recording(logits, target, **kwargs):
        seen.append(target)
        return real_ce(logits, target, **kwargs)

    monkeypatch.setattr(torch.nn.functional, "cross_entropy", recording)
    return seen


def _grads(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {n: p.grad.clone() if p.grad is not None else torch.zeros_like(p) for n, p in model.named_parameters()}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_step_equals_naive_reference(case, tiny_batch):
    kind, aux_changes, train_changes, phase = CASES[case]
    aux = dataclasses.replace(TINY_AUX, **aux_changes)
    train = dataclasses.replace(TINY_TRAIN, **train_changes)
    model = tiny_model(kind, aux)
    tokens, labels = tiny_batch
    anchors = None
    if kind != "lstm":
        anchors, _ = sample_anchors(len(labels), SEQ_LEN, kind, aux, torch.Generator().manual_seed(3))
        # include both ends of the valid range, where windows touch the sequence boundaries
        anchors[0] = torch.tensor(anchor_bounds(kind, SEQ_LEN, aux.segment_len))
    offsets = None
    if aux.segment_offset == "random":
        offsets = sample_segment_offsets(anchors, aux.segment_len, torch.Generator().manual_seed(5))
        assert offsets.max() > 0

    fast = lstm_loss_terms(model, tokens, labels, anchors, train=train, aux=aux, phase=phase, segment_offsets=offsets)
    fast.total.backward()
    fast_grads = _grads(model)
    model.zero_grad()
    total, main, aux_loss = naive_loss_terms(
        model, tokens, labels, anchors, train=train, aux=aux, phase=phase, segment_offsets=offsets
    )
    total.backward()
    naive_grads = _grads(model)

    torch.testing.assert_close(fast.total, total, rtol=0, atol=1e-12)
    torch.testing.assert_close(fast.main, main, rtol=0, atol=1e-12)
    torch.testing.assert_close(fast.aux, aux_loss, rtol=0, atol=1e-12)
    assert fast.total.item() > 0
    for name in fast_grads:
        torch.testing.assert_close(fast_grads[name], naive_grads[name], rtol=0, atol=1e-11, msg=name)
    assert any(g.abs().sum() > 0 for g in fast_grads.values())


def _positions_with_gradient(kind, loss_name, *, train=TINY_TRAIN, aux=TINY_AUX, anchor=None, phase="joint"):
    """Positions whose main-LSTM input embedding gets gradient from one loss term, for one example.

    Every position holds a different token and the decoder has its own table, so row t of the main
    embedding's gradient is exactly the gradient reaching the input at position t.
    """
    aux = dataclasses.replace(aux, share_embedding=False, anchors=1)
    model = tiny_model(kind, aux)
    tokens = torch.arange(SEQ_LEN)[None]
    anchors = None if anchor is None else torch.tensor([[anchor]])
    terms = lstm_loss_terms(model, tokens, torch.tensor([1]), anchors, train=train, aux=aux, phase=phase)
    getattr(terms, loss_name).backward()
    grad = model.embed.tables[0].weight.grad
    positions = set() if grad is None else set(torch.nonzero(grad.abs().sum(1) > 0).flatten().tolist())
    return positions, model


@pytest.mark.parametrize("kind", ["lstm", "r_lstm", "p_lstm"])
@pytest.mark.parametrize("truncation", [1, 5, 11])
def test_supervised_gradient_reaches_only_the_last_k_positions(kind, truncation):
    train = dataclasses.replace(TINY_TRAIN, truncation=truncation)
    anchor = 6 if kind != "lstm" else None
    positions, _ = _positions_with_gradient(kind, "main", train=train, anchor=anchor)
    assert positions == set(range(SEQ_LEN - truncation, SEQ_LEN))


def test_full_bptt_reaches_every_position():
    positions, _ = _positions_with_gradient("lstm", "main", train=dataclasses.replace(TINY_TRAIN, truncation=None))
    assert positions == set(range(SEQ_LEN))


@pytest.mark.parametrize("kind", ["lstm", "r_lstm"])
def test_head_only_supervised_loss_trains_only_the_classifier(kind):
    train = dataclasses.replace(TINY_TRAIN, supervised_grad="head_only")
    positions, model = _positions_with_gradient(kind, "main", train=train, anchor=6 if kind != "lstm" else None)
    assert positions == set()
    for name, param in model.named_parameters():
        got = param.grad is not None and param.grad.abs().sum() > 0
        assert got == name.startswith("classifier."), name


@pytest.mark.parametrize(("anchor", "aux_truncation", "expected"), [
    (6, 3, range(4, 7)),      # the window ends at the anchor, aux.truncation steps long
    (11, 2, range(10, 12)),
    (4, 3, range(2, 5)),      # earliest valid anchor (a = L)
    (7, 50, range(3, 8)),     # a long aux.truncation stops at the segment start a - L
])  # fmt: skip
def test_reconstruction_gradient_reaches_only_the_window_before_the_anchor(anchor, aux_truncation, expected):
    aux = dataclasses.replace(TINY_AUX, truncation=aux_truncation)
    positions, _ = _positions_with_gradient("r_lstm", "aux", aux=aux, anchor=anchor)
    assert positions == set(expected)


@pytest.mark.parametrize(("anchor", "aux_truncation", "expected"), [
    (0, 3, range(1, 4)),      # along the predicted segment a+1 .. a+L, never at or before the anchor
    (7, 3, range(8, 11)),     # last valid anchor (a = T-1-L)
    (3, 1, range(4, 5)),      # aux.truncation caps it
])  # fmt: skip
def test_prediction_gradient_reaches_only_the_predicted_segment(anchor, aux_truncation, expected):
    aux = dataclasses.replace(TINY_AUX, truncation=aux_truncation)
    positions, _ = _positions_with_gradient("p_lstm", "aux", aux=aux, anchor=anchor)
    assert positions == set(expected)


@pytest.mark.parametrize("kind", ["r_lstm", "p_lstm"])
def test_pretraining_gives_the_classifier_no_gradient(kind):
    _, model = _positions_with_gradient(kind, "total", anchor=6 if kind == "r_lstm" else 3, phase="pretrain")
    assert all(p.grad is None for p in model.classifier.parameters())
    assert model.lstm.weight_ih_l0.grad.abs().sum() > 0


def test_decoder_starts_from_the_main_state_and_reconstructs_the_tokens_before_the_anchor(ce_targets, tiny_batch):
    model = tiny_model("r_lstm")
    tokens, labels = tiny_batch
    anchors = torch.tensor([[4, 9], [11, 6], [5, 5]])
    seen = {}

    def record_initial_state(module, args):
        seen.setdefault("state", args[1])

    model.aux.bottom.register_forward_pre_hook(record_initial_state)
    targets = ce_targets
    lstm_loss_terms(model, tokens, labels, anchors, train=TINY_TRAIN, aux=TINY_AUX, phase="joint")

    L = TINY_AUX.segment_len
    h0, c0 = seen["state"]
    rows = [(b, a) for b in range(3) for a in anchors[b].tolist()]
    for i, (b, a) in enumerate(rows):
        h, c = main_states(model, tokens[b], a + 1, None)[a]  # untruncated state after reading token a
        torch.testing.assert_close(h0[0, i], h, rtol=0, atol=1e-12)
        torch.testing.assert_close(c0[0, i], c, rtol=0, atol=1e-12)
    expected = torch.stack([tokens[b, a - L + 1 : a] for b, a in rows]).reshape(-1)
    assert torch.equal(targets[-1], expected)


def test_prediction_targets_are_the_tokens_after_the_anchor(ce_targets, tiny_batch):
    model = tiny_model("p_lstm")
    tokens, labels = tiny_batch
    anchors = torch.tensor([[0, 7], [3, 3], [5, 1]])
    targets = ce_targets
    lstm_loss_terms(model, tokens, labels, anchors, train=TINY_TRAIN, aux=TINY_AUX, phase="pretrain")
    L = TINY_AUX.segment_len
    expected = torch.stack([tokens[b, a + 1 : a + L + 1] for b in range(3) for a in anchors[b].tolist()])
    assert torch.equal(targets[-1], expected.reshape(-1))


@pytest.mark.parametrize("kind", ["r_lstm", "p_lstm"])
def test_anchors_are_uniform_over_valid_positions_and_differ_across_examples_and_steps(kind):
    aux = dataclasses.replace(TINY_AUX, segment_len=600, anchors=3)
    gen = torch.Generator().manual_seed(0)
    first, _ = sample_anchors(128, 784, kind, aux, gen)
    second, _ = sample_anchors(128, 784, kind, aux, gen)
    assert first.shape == (128, 3)
    assert len(set(first[:, 0].tolist())) > 50  # differ across examples
    assert not torch.equal(first, second)  # and across steps
    low, high = anchor_bounds(kind, 784, 600)
    draws = torch.cat([sample_anchors(128, 784, kind, aux, gen)[0] for _ in range(40)]).flatten()
    assert draws.min().item() == low and draws.max().item() == high
    assert (low, high) == ((600, 783) if kind == "r_lstm" else (0, 183))
    counts = torch.bincount(draws - low).float()
    assert counts.std() / counts.mean() < 0.25  # roughly uniform: 15,360 draws over 184 values


def test_per_batch_anchors_share_one_position():
    aux = dataclasses.replace(TINY_AUX, anchor_sampling="per_batch", anchors=2)
    anchors, _ = sample_anchors(5, SEQ_LEN, "r_lstm", aux, torch.Generator().manual_seed(0))
    assert (anchors == anchors[0]).all()


def test_random_segment_offsets_keep_the_segment_inside_the_sequence_and_move_the_targets(ce_targets, tiny_batch):
    L = TINY_AUX.segment_len
    anchors = torch.tensor([[4, 11], [9, 7], [5, 6]])
    gen = torch.Generator().manual_seed(0)
    draws = torch.stack([sample_segment_offsets(anchors, L, gen) for _ in range(300)])
    assert (draws >= 0).all() and (draws <= anchors - L).all()
    assert (draws.amax(0) == anchors - L).all()  # the whole range [0, a - L] is used
    offsets = draws[0]
    model = tiny_model("r_lstm", dataclasses.replace(TINY_AUX, segment_offset="random"))
    tokens, labels = tiny_batch
    targets = ce_targets
    lstm_loss_terms(model, tokens, labels, anchors, train=TINY_TRAIN, aux=TINY_AUX, phase="pretrain",
                    segment_offsets=offsets)  # fmt: skip
    ends = [(b, a - int(offsets[b, m])) for b in range(3) for m, a in enumerate(anchors[b].tolist())]
    assert torch.equal(targets[-1], torch.stack([tokens[b, e - L + 1 : e] for b, e in ends]).reshape(-1))
