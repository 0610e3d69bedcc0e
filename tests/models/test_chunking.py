"""Passes that keep only the final state run in bounded chunks of steps, with exactly the unchunked results."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models import build_model
from models.truncated import lstm_loss_terms, prefix_states
from tests.models.conftest import CLASSES, SEQ_LEN, TINY_AUX, TINY_MODEL, TINY_TRAIN, VOCAB, tiny_model

LENGTHS = torch.tensor([12, 5, 9, 1])
CHUNKS = [1, 3, 4, 5, 12, 100]  # dividing T = 12 or not, shorter and longer than T


def _tokens(channels: int = 1) -> torch.Tensor:
    gen = torch.Generator().manual_seed(7)
    shape = (4, SEQ_LEN) if channels == 1 else (4, SEQ_LEN, channels)
    return torch.randint(0, VOCAB, shape, generator=gen)


def _reference_states(model, tokens, cuts, rows):
    """One unchunked call per request: the state after tokens[row, :cut] (zeros for cut 0)."""
    hs, cs = [], []
    for cut, row in zip(cuts.tolist(), rows.tolist()):
        if cut == 0:
            hs.append(torch.zeros(model.lstm.hidden_size, dtype=torch.float64))
            cs.append(torch.zeros(model.lstm.hidden_size, dtype=torch.float64))
            continue
        _, (h, c) = model.run(tokens[row : row + 1, :cut])
        hs.append(h[0, 0])
        cs.append(c[0, 0])
    return torch.stack(hs), torch.stack(cs)


@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("strategy", ["split", "packed"])
def test_chunked_prefix_states_equal_one_call_per_cut(chunk, channels, strategy):
    torch.manual_seed(0)
    model = build_model(
        dataclasses.replace(TINY_MODEL, kind="r_lstm"), TINY_AUX, vocab_size=VOCAB, num_classes=CLASSES,
        seq_len=SEQ_LEN, channels=channels,
    ).double()  # fmt: skip
    tokens = _tokens(channels)
    # Rows with one to three requests, a repeated request, cuts at 0 and at T, rows out of order.
    cuts = torch.tensor([0, 12, 7, 7, 3, 11, 1, 12, 3, 5])
    rows = torch.tensor([0, 1, 2, 3, 0, 2, 1, 3, 0, 0])
    h, c = prefix_states(model, tokens, cuts, rows, chunk=chunk, strategy=strategy)
    h_ref, c_ref = _reference_states(model, tokens, cuts, rows)
    torch.testing.assert_close(h, h_ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(c, c_ref, rtol=0, atol=1e-12)


def _reference_logits(model, tokens, lengths):
    outputs, _ = model.run(tokens)  # the whole sequence in one call
    last = torch.full((len(tokens),), tokens.shape[1]) if lengths is None else lengths
    return model.classifier(outputs[torch.arange(len(tokens)), last - 1])


@pytest.mark.parametrize("chunk", CHUNKS)
@pytest.mark.parametrize("kind", ["lstm", "r_lstm", "p_lstm"])
@pytest.mark.parametrize("variable", [False, True])
def test_chunked_evaluation_forward_equals_the_whole_sequence_call(chunk, kind, variable):
    model = tiny_model(kind).eval()
    tokens = _tokens()
    lengths = LENGTHS if variable else None
    with torch.no_grad():
        logits = model(tokens, lengths, chunk=chunk)
        torch.testing.assert_close(logits, _reference_logits(model, tokens, lengths), rtol=0, atol=1e-12)
    assert logits.shape == (4, CLASSES)


def test_chunked_forward_still_backpropagates_to_every_step():
    model = tiny_model("lstm")
    tokens = _tokens()
    model(tokens, LENGTHS, chunk=5).sum().backward()
    reference = tiny_model("lstm")
    _reference_logits(reference, tokens, LENGTHS).sum().backward()
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        torch.testing.assert_close(p.grad, q.grad, rtol=0, atol=1e-12, msg=name)


@pytest.mark.parametrize("chunk", [2, 5])
@pytest.mark.parametrize("kind", ["lstm", "r_lstm", "p_lstm"])
def test_the_step_with_chunked_prefixes_equals_the_default(monkeypatch, chunk, kind):
    import models.truncated

    model = tiny_model(kind)
    tokens, labels = _tokens(), torch.randint(0, CLASSES, (4,), generator=torch.Generator().manual_seed(3))
    anchors = torch.tensor([[5, 8], [6, 4], [7, 7], [4, 6]]) if kind == "r_lstm" else torch.tensor([[0, 3]] * 4)
    default = lstm_loss_terms(model, tokens, labels, anchors, train=TINY_TRAIN, aux=TINY_AUX, phase="joint")
    original = models.truncated.prefix_states
    monkeypatch.setattr(models.truncated, "prefix_states", lambda *a: original(*a, chunk=chunk))
    chunked = lstm_loss_terms(model, tokens, labels, anchors, train=TINY_TRAIN, aux=TINY_AUX, phase="joint")
    for a, b in ((default.total, chunked.total), (default.main, chunked.main), (default.aux, chunked.aux)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "r_lstm", "p_lstm"])
@pytest.mark.parametrize("variable", [False, True])
def test_the_step_with_packed_prefixes_equals_the_split_one(monkeypatch, kind, variable):
    """Per-example anchors: the packed no-grad pass (GPU default to 1,024 steps) gives the split one's losses
    and gradients."""
    import models.truncated

    tokens, labels = _tokens(), torch.randint(0, CLASSES, (4,), generator=torch.Generator().manual_seed(3))
    anchors = torch.tensor([[5, 8], [6, 4], [7, 7], [4, 6]]) if kind == "r_lstm" else torch.tensor([[0, 3]] * 4)
    lengths = torch.tensor([12, 9, 11, 12]) if variable else None
    original = models.truncated.prefix_states
    results = []
    for strategy in ("split", "packed"):
        model = tiny_model(kind)
        monkeypatch.setattr(models.truncated, "prefix_states", lambda *a, s=strategy: original(*a, strategy=s))
        terms = lstm_loss_terms(
            model, tokens, labels, anchors, train=TINY_TRAIN, aux=TINY_AUX, phase="joint", lengths=lengths
        )
        terms.total.backward()
        results.append((terms, [p.grad for p in model.parameters()]))
    (split, split_grads), (packed, packed_grads) = results
    for a, b in ((split.total, packed.total), (split.main, packed.main), (split.aux, packed.aux)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)
    for a, b in zip(split_grads, packed_grads):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-12)


def test_under_bf16_autocast_both_strategies_agree_to_bf16_rounding():
    """The packed pass keeps its states in fp32 buffers while the LSTM runs in bf16: the round trip is exact, so
    only the kernels' rounding separates it from the split pass (GPUs take the same path with fp16 too)."""
    torch.manual_seed(0)
    model = build_model(
        dataclasses.replace(TINY_MODEL, kind="r_lstm"), TINY_AUX, vocab_size=VOCAB, num_classes=CLASSES,
        seq_len=SEQ_LEN,
    )  # fmt: skip
    tokens = _tokens()
    cuts, rows = torch.tensor([0, 12, 7, 7, 3, 11, 1, 12, 3, 5]), torch.tensor([0, 1, 2, 3, 0, 2, 1, 3, 0, 0])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        split = prefix_states(model, tokens, cuts, rows, chunk=4, strategy="split")
        packed = prefix_states(model, tokens, cuts, rows, chunk=4, strategy="packed")
    reference = _reference_states(model.double(), tokens, cuts, rows)
    for s, p, r in zip(split, packed, reference):
        assert s.dtype == p.dtype == torch.float32
        torch.testing.assert_close(p.double(), s.double(), rtol=0, atol=2e-2)
        torch.testing.assert_close(p.double(), r, rtol=0, atol=3e-2)  # and both near the float64 states
