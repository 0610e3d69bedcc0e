"""Full BPTT with activation checkpointing (`train.checkpoint_chunk`): the gradients of plain full BPTT, exactly,
with saved activations that grow like sqrt(T) instead of T."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models import AuxConfig, ModelConfig, TrainConfig, build_model
from models.checkpointed import chunk_length
from models.truncated import lstm_loss_terms, sample_anchors
from study.cost.bench import recomputed_bytes, saved_activation_bytes
from study.run.config import ConfigError, load_config
from tests.models.conftest import CLASSES, SEQ_LEN, TINY_AUX, TINY_TRAIN, VOCAB, tiny_model
from tests.models.peaks import peaks

FULL = dataclasses.replace(TINY_TRAIN, truncation=None)
LENGTHS = torch.tensor([12, 5, 9, 3, 10])  # right-padded rows ending in different chunks


def _batch(lengths: torch.Tensor | None, channels: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(4)
    rows = 5 if lengths is None else len(lengths)
    tokens = torch.randint(1, VOCAB, (rows, SEQ_LEN) if channels == 1 else (rows, SEQ_LEN, channels), generator=gen)
    if lengths is not None:
        tokens[torch.arange(SEQ_LEN)[None] >= lengths[:, None]] = 0
    return tokens, torch.randint(0, CLASSES, (rows,), generator=gen)


def _step(model, tokens, labels, anchors, valid, lengths, chunk):
    model.zero_grad(set_to_none=True)
    train = dataclasses.replace(FULL, checkpoint_chunk=chunk)
    terms = lstm_loss_terms(
        model, tokens, labels, anchors, train=train, aux=TINY_AUX, phase="joint", lengths=lengths, anchor_valid=valid
    )
    terms.total.backward()
    return terms, {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("kind", ["lstm", "r_lstm", "p_lstm"])
@pytest.mark.parametrize("lengths", [None, LENGTHS], ids=["fixed", "variable"])
@pytest.mark.parametrize("chunk", [1, 5, "sqrt", 12, 50])  # 5 does not divide T = 12; sqrt: 4; 50 > T
def test_checkpointed_gradients_equal_plain_full_bptt(kind, lengths, chunk):
    model = tiny_model(kind)  # float64, DropConnect off
    tokens, labels = _batch(lengths)
    anchors, valid = None, None
    if kind != "lstm":
        anchors, valid = sample_anchors(len(labels), SEQ_LEN, kind, TINY_AUX, torch.Generator().manual_seed(0), lengths)
    plain, want = _step(model, tokens, labels, anchors, valid, lengths, None)
    checkpointed, got = _step(model, tokens, labels, anchors, valid, lengths, chunk)
    for a, b in ((checkpointed.total, plain.total), (checkpointed.main, plain.main), (checkpointed.aux, plain.aux)):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-13)
    assert got.keys() == want.keys()
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=1e-13, msg=name)
    assert want["lstm.weight_hh_l0"].abs().sum() > 0


def test_checkpointed_gradients_equal_plain_full_bptt_for_rgb_steps():
    torch.manual_seed(0)
    cfg = ModelConfig(kind="r_lstm", d_embed=6, d_hidden=4, d_ffn=6, dropconnect=0.0, channel_embedding="concat")
    model = build_model(cfg, TINY_AUX, vocab_size=VOCAB, num_classes=CLASSES, seq_len=SEQ_LEN, channels=3).double()
    tokens, labels = _batch(LENGTHS, channels=3)
    anchors, valid = sample_anchors(len(labels), SEQ_LEN, "r_lstm", TINY_AUX, torch.Generator().manual_seed(0), LENGTHS)
    _, want = _step(model, tokens, labels, anchors, valid, LENGTHS, None)
    _, got = _step(model, tokens, labels, anchors, valid, LENGTHS, 5)
    for name in want:
        torch.testing.assert_close(got[name], want[name], rtol=0, atol=1e-13, msg=name)


def test_sqrt_chunk_is_the_ceiling_of_the_square_root():
    assert [chunk_length("sqrt", t) for t in (1, 12, 16, 17, 784, 1024, 16384)] == [1, 4, 4, 5, 28, 32, 128]
    assert chunk_length(7, 1000) == 7


def _saved_mb(seq_len: int, chunk: int | str | None) -> float:
    """Bytes autograd holds for backward at its peak: what the forward saves, and for a checkpointed step one
    recomputed chunk on top."""
    torch.manual_seed(0)
    aux = AuxConfig()
    cfg = ModelConfig(kind="lstm", d_embed=32, d_hidden=32, d_ffn=32, dropconnect=0.0)
    model = build_model(cfg, aux, vocab_size=256, num_classes=10, seq_len=seq_len)
    tokens, labels = torch.randint(0, 256, (8, seq_len)), torch.randint(0, 10, (8,))
    train = TrainConfig(truncation=None, checkpoint_chunk=chunk)
    terms, saved = saved_activation_bytes(
        lambda: lstm_loss_terms(model, tokens, labels, None, train=train, aux=aux, phase="joint")
    )
    terms.total.backward()
    return (saved + recomputed_bytes(model, tokens, train)) / 2**20


def test_checkpointed_saved_activations_grow_like_the_square_root_of_the_length():
    full, checkpointed = _saved_mb(1024, None), _saved_mb(1024, "sqrt")
    plain_growth, checkpointed_growth = full / _saved_mb(256, None), checkpointed / _saved_mb(256, "sqrt")
    assert 3.5 < plain_growth < 4.5, plain_growth  # 4x the steps: linear
    assert checkpointed_growth < 2.5, checkpointed_growth  # sqrt(4) = 2, plus the tokens themselves
    # At least one recomputed chunk of 32 steps is held at a time, and far less than all 1,024.
    assert full * 32 / 1024 < checkpointed < 0.15 * full, (full, checkpointed)


@pytest.mark.slow  # two fresh-process measurements at 8,192 steps
def test_checkpointed_training_peak_stays_far_below_full_bptt_at_8k_steps():
    """The resident set, not the count of saved tensors: recomputed chunks really are freed one at a time."""
    full, checkpointed = peaks("lstm", 8192, None)["train"], peaks("lstm", 8192, None, "sqrt")["train"]
    assert full > 50 and checkpointed < 0.3 * full, (full, checkpointed)


@pytest.mark.parametrize(
    ("overrides", "keys"),
    [
        (["train.checkpoint_chunk=64"], ["train.checkpoint_chunk", "train.truncation"]),  # default truncation 300
        (["train.truncation=50", "train.checkpoint_chunk=sqrt"], ["train.checkpoint_chunk", "train.truncation"]),
        (["model.kind=transformer", "train.truncation=null", "train.checkpoint_chunk=sqrt"],
         ["train.checkpoint_chunk", "model.kind"]),
        (["train.truncation=null", "train.supervised_grad=head_only", "train.checkpoint_chunk=8"],
         ["train.checkpoint_chunk", "train.supervised_grad"]),
        (["train.truncation=null", "train.checkpoint_chunk=0"], ["train.checkpoint_chunk"]),
        (["train.truncation=null", "train.checkpoint_chunk=cube"], ["train.checkpoint_chunk"]),
    ],
)  # fmt: skip
def test_invalid_combinations_are_refused_naming_the_keys(overrides, keys):
    with pytest.raises(ConfigError) as err:
        load_config(None, overrides)
    assert all(key in str(err.value) for key in keys), err.value


@pytest.mark.parametrize(("value", "parsed"), [("sqrt", "sqrt"), ("64", 64), ("null", None)])
def test_checkpoint_chunk_parses_from_overrides(value, parsed):
    for kind in ("lstm", "r_lstm", "p_lstm"):
        cfg = load_config(None, [f"model.kind={kind}", "train.truncation=null", f"train.checkpoint_chunk={value}"])
        assert cfg.train.checkpoint_chunk == parsed
