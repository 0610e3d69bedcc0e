"""Every model kind: shapes, finiteness, which parameters learn, and that one tiny batch can be overfitted."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from models import MODELS
from models.loop import compute_losses
from tests.models.conftest import CLASSES, TINY_AUX, TINY_TRAIN, tiny_model

TRAIN_FULL = TINY_TRAIN.__class__(truncation=None)


def _train_cfg(kind: str):
    return TINY_TRAIN if MODELS[kind].recurrent else TRAIN_FULL


def _joint_losses(model, kind: str, tokens, labels):
    """One batch's loss terms in joint training, anchors from a fixed seed."""
    generator = torch.Generator().manual_seed(0)
    return compute_losses(
        model, tokens, labels, train=_train_cfg(kind), aux=TINY_AUX, phase="joint", anchor_generator=generator
    )


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_forward_shapes_and_finite_losses(kind, tiny_batch):
    model = tiny_model(kind)
    tokens, labels = tiny_batch
    logits = model(tokens)
    assert logits.shape == (len(labels), CLASSES)
    terms = _joint_losses(model, kind, tokens, labels)
    for value in (terms.total, terms.main, terms.aux):
        assert value.shape == () and torch.isfinite(value)
    assert terms.logits.shape == (len(labels), CLASSES)
    assert (terms.aux > 0) == bool(MODELS[kind].auxiliary)


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_every_parameter_that_should_learn_gets_a_gradient(kind, tiny_batch):
    model = tiny_model(kind)
    tokens, labels = tiny_batch
    terms = _joint_losses(model, kind, tokens, labels)
    terms.total.backward()
    silent = [n for n, p in model.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]
    assert silent == []
    if MODELS[kind].auxiliary:
        assert any(n.startswith("aux.") for n, _ in model.named_parameters())


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_one_tiny_batch_is_overfitted(kind, tiny_batch):
    model = tiny_model(kind).float()
    tokens, labels = tiny_batch
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-2)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(150):
        terms = compute_losses(
            model, tokens, labels, train=_train_cfg(kind), aux=TINY_AUX, phase="joint", anchor_generator=gen
        )
        optimizer.zero_grad()
        terms.total.backward()
        optimizer.step()
        losses.append(terms.main.item())
    model.eval()
    assert losses[-1] < 0.05 * losses[0]
    assert (model(tokens).argmax(-1) == labels).all()


def _naive_transformer_logits(model, tokens):
    """Explicit per-head attention over the module's own weights (pre-norm encoder, ReLU feed-forward)."""
    x = model.embed(tokens) + model.position[: tokens.shape[1]]
    for layer in model.encoder.layers:
        attn = layer.self_attn
        q, k, v = F.linear(layer.norm1(x), attn.in_proj_weight, attn.in_proj_bias).chunk(3, dim=-1)
        d_head = q.shape[-1] // attn.num_heads
        heads = []
        for i in range(attn.num_heads):
            s = slice(i * d_head, (i + 1) * d_head)
            weights = torch.softmax(q[..., s] @ k[..., s].transpose(1, 2) / math.sqrt(d_head), dim=-1)
            heads.append(weights @ v[..., s])
        x = x + attn.out_proj(torch.cat(heads, dim=-1))
        x = x + layer.linear2(torch.relu(layer.linear1(layer.norm2(x))))
    return model.classifier(model.norm(x).mean(dim=1))


@pytest.mark.parametrize("heads", [1, 5])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_transformer_equals_naive_attention(heads, mode, tiny_batch):
    model = tiny_model("transformer", transformer_heads=heads)
    getattr(model, mode)()
    tokens, _ = tiny_batch
    fast, naive = model(tokens), _naive_transformer_logits(model, tokens)
    torch.testing.assert_close(fast, naive, rtol=0, atol=1e-12)
    fast.sum().backward()
    fast_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    naive.sum().backward()
    for got, want in zip(fast_grads, (p.grad for p in model.parameters())):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-11)


def test_transformer_and_lstm_are_of_comparable_size():
    from models import AuxConfig, ModelConfig, build_model

    sizes = {
        kind: sum(
            p.numel()
            for p in build_model(
                ModelConfig(kind=kind), AuxConfig(), vocab_size=256, num_classes=10, seq_len=784
            ).parameters()
        )
        for kind in ("lstm", "transformer")
    }
    assert 0.5 < sizes["transformer"] / sizes["lstm"] < 2.5, sizes
