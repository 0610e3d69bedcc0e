"""Variable-length (right-padded) batches and RGB steps with several channel tokens."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models import build_model
from models.loop import compute_losses
from models.truncated import lstm_loss_terms, sample_anchors
from tests.models.conftest import CLASSES, SEQ_LEN, TINY_AUX, TINY_MODEL, TINY_TRAIN, VOCAB, tiny_model
from tests.models.reference import naive_loss_terms

LENGTHS = torch.tensor([12, 5, 9, 3])  # 3 is too short for a segment of 4: no auxiliary loss for it


def _padded_batch(lengths=LENGTHS, channels=1):
    gen = torch.Generator().manual_seed(4)
    shape = (len(lengths), SEQ_LEN) if channels == 1 else (len(lengths), SEQ_LEN, channels)
    tokens = torch.randint(1, VOCAB, shape, generator=gen)
    pad = torch.arange(SEQ_LEN)[None] >= lengths[:, None]
    tokens[pad] = 0
    return tokens, torch.randint(0, CLASSES, (len(lengths),), generator=gen)


def _compare(model, tokens, labels, anchors, *, train, aux, phase, lengths=None, valid=None):
    fast = lstm_loss_terms(
        model, tokens, labels, anchors, train=train, aux=aux, phase=phase, lengths=lengths, anchor_valid=valid
    )
    fast.total.backward()
    fast_grads = {n: p.grad.clone() if p.grad is not None else torch.zeros_like(p) for n, p in model.named_parameters()}
    model.zero_grad()
    total, main, aux_loss = naive_loss_terms(
        model, tokens, labels, anchors, train=train, aux=aux, phase=phase, lengths=lengths, anchor_valid=valid
    )
    total.backward()
    for a, b in ((fast.total, total), (fast.main, main), (fast.aux, aux_loss)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    for name, param in model.named_parameters():
        want = param.grad if param.grad is not None else torch.zeros_like(param)
        torch.testing.assert_close(fast_grads[name], want, rtol=0, atol=1e-11, msg=name)
    assert fast.total.item() > 0


@pytest.mark.parametrize("kind", ["lstm", "r_lstm", "p_lstm"])
@pytest.mark.parametrize("train_changes", [{}, {"truncation": None}, {"supervised_grad": "head_only"}])
def test_variable_length_step_equals_naive_reference(kind, train_changes):
    model = tiny_model(kind)
    tokens, labels = _padded_batch()
    train = dataclasses.replace(TINY_TRAIN, **train_changes)
    anchors, valid = None, None
    if kind != "lstm":
        anchors, valid = sample_anchors(len(labels), SEQ_LEN, kind, TINY_AUX, torch.Generator().manual_seed(0), LENGTHS)
        assert valid.tolist() == [True, True, True, False]
    _compare(model, tokens, labels, anchors, train=train, aux=TINY_AUX, phase="joint", lengths=LENGTHS, valid=valid)


@pytest.mark.parametrize("kind", ["lstm", "r_lstm", "p_lstm"])
@pytest.mark.parametrize("mode", ["sum", "concat"])
def test_rgb_step_equals_naive_reference(kind, mode):
    torch.manual_seed(0)
    cfg = dataclasses.replace(TINY_MODEL, kind=kind, channel_embedding=mode)
    model = build_model(cfg, TINY_AUX, vocab_size=VOCAB, num_classes=CLASSES, seq_len=SEQ_LEN, channels=3).double()
    tokens, labels = _padded_batch(torch.full((3,), SEQ_LEN), channels=3)
    anchors = None
    if kind != "lstm":
        anchors, _ = sample_anchors(3, SEQ_LEN, kind, TINY_AUX, torch.Generator().manual_seed(0))
    _compare(model, tokens, labels, anchors, train=TINY_TRAIN, aux=TINY_AUX, phase="joint")
    if kind == "r_lstm":
        free = dataclasses.replace(TINY_AUX, teacher_forcing=False)
        model.zero_grad()
        _compare(model, tokens, labels, anchors, train=TINY_TRAIN, aux=free, phase="joint")


def test_rgb_auxiliary_head_predicts_every_channel():
    torch.manual_seed(0)
    model = build_model(
        dataclasses.replace(TINY_MODEL, kind="r_lstm"), TINY_AUX, vocab_size=VOCAB, num_classes=CLASSES,
        seq_len=SEQ_LEN, channels=3,
    )  # fmt: skip
    assert model.aux.head.out.out_features == 3 * VOCAB
    concat = build_model(
        dataclasses.replace(TINY_MODEL, channel_embedding="concat"), TINY_AUX, vocab_size=VOCAB,
        num_classes=CLASSES, seq_len=SEQ_LEN, channels=3,
    )  # fmt: skip
    assert [t.embedding_dim for t in concat.embed.tables] == [2, 2, 1]  # d_embed 5 split across 3 channels


@pytest.mark.parametrize("kind", ["lstm", "r_lstm", "transformer"])
def test_classifier_reads_each_examples_true_end(kind):
    model = tiny_model(kind).eval()
    tokens, _ = _padded_batch()
    padded = model(tokens, LENGTHS)
    for b, length in enumerate(LENGTHS.tolist()):
        alone = model(tokens[b : b + 1, :length])
        torch.testing.assert_close(padded[b : b + 1], alone, rtol=0, atol=1e-10)
    # reading the padding would change the answer for every padded example
    unmasked = model(tokens)
    assert not torch.allclose(unmasked[1:], padded[1:])


@pytest.mark.parametrize("kind", ["r_lstm", "p_lstm"])
def test_anchors_and_segments_never_reach_padding(kind):
    aux = dataclasses.replace(TINY_AUX, anchors=3)
    gen = torch.Generator().manual_seed(0)
    lengths = torch.tensor([12, 5, 6, 9, 3, 4])
    L = aux.segment_len
    seen = set()
    for _ in range(200):
        anchors, valid = sample_anchors(len(lengths), SEQ_LEN, kind, aux, gen, lengths)
        for b in torch.nonzero(valid).flatten().tolist():
            for a in anchors[b].tolist():
                first, last = (a - L, a) if kind == "r_lstm" else (a, a + L)
                assert 0 <= first and last <= lengths[b] - 1
                seen.add((b, a))
    assert valid.tolist() == [True, True, True, True, False, False]  # a segment needs L + 1 real tokens
    # every valid position of the longest example is drawn
    high = 11 if kind == "r_lstm" else 11 - L
    assert {a for b, a in seen if b == 0} == set(range(L if kind == "r_lstm" else 0, high + 1))


def test_supervised_gradient_stays_inside_each_examples_window():
    aux = dataclasses.replace(TINY_AUX, share_embedding=False)
    model = tiny_model("lstm", aux)
    length = 9
    tokens = torch.arange(SEQ_LEN)[None]
    terms = lstm_loss_terms(
        model, tokens, torch.tensor([1]), None, train=TINY_TRAIN, aux=aux, phase="joint",
        lengths=torch.tensor([length]),
    )  # fmt: skip
    terms.main.backward()
    grad = model.embed.tables[0].weight.grad.abs().sum(1)
    assert set(torch.nonzero(grad).flatten().tolist()) == set(range(length - TINY_TRAIN.truncation, length))


def test_batch_too_short_for_any_segment_has_no_auxiliary_loss():
    model = tiny_model("r_lstm")
    tokens, labels = _padded_batch(torch.tensor([3, 2]))
    terms = compute_losses(
        model, tokens[:, :3], labels, train=TINY_TRAIN, aux=TINY_AUX, phase="pretrain",
        anchor_generator=torch.Generator().manual_seed(0), lengths=torch.tensor([3, 2]),
    )  # fmt: skip
    assert terms.aux.item() == 0 and not terms.total.requires_grad
