"""The training loop around the step: evaluation mode, DropConnect, clipping, metric weighting, the test split, the
token count and fresh anchors. Each test checks behaviour through the public functions (`evaluate`,
`train_epoch`, `fit`, `study.run.runner.run_config`), so a bug planted in any of them makes one fail."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from models.loop import LossModule, compute_losses, evaluate, fit, train_epoch
from tests.models.conftest import CLASSES, SEQ_LEN, TINY_AUX, TINY_TRAIN, VOCAB, tiny_model

CPU = torch.device("cpu")


def _tokens(n: int, seed: int = 11) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, VOCAB, (n, SEQ_LEN), generator=gen), torch.randint(0, CLASSES, (n,), generator=gen)


def test_evaluation_runs_in_eval_mode_without_dropconnect():
    model = tiny_model("lstm", dropconnect=0.9)
    tokens, labels = _tokens(6)
    model.train()
    first = evaluate(model, [(tokens, labels, None)], CPU)
    second = evaluate(model, [(tokens, labels, None)], CPU)
    assert first.means() == second.means()  # deterministic: no weights dropped
    with torch.no_grad():
        clean = F.cross_entropy(model.eval()(tokens), labels).item()
    assert first.mean("loss") == pytest.approx(clean, rel=1e-12)


def test_dropconnect_drops_weights_while_training():
    model = tiny_model("lstm", dropconnect=0.5).train()
    tokens, _ = _tokens(6)
    torch.manual_seed(0)
    outputs = [model(tokens) for _ in range(2)]
    assert not torch.allclose(outputs[0], outputs[1])  # a fresh mask per call
    assert torch.equal(model.eval()(tokens), model.eval()(tokens))
    plain = tiny_model("lstm", dropconnect=0.0).train()
    assert torch.equal(plain(tokens), plain(tokens))


class RecordingSGD(torch.optim.SGD):
    """SGD that records, at every step, the gradients it is about to apply (lr 0 leaves the model unchanged)."""

    def __init__(self, params) -> None:
        super().__init__(params, lr=0.0)
        self.seen: list[list[torch.Tensor]] = []

    def step(self, closure=None):
        self.seen.append([p.grad.clone() for group in self.param_groups for p in group["params"]])
        return super().step(closure)


def _applied_gradients(model, grad_clip: float | None) -> list[torch.Tensor]:
    tokens, labels = _tokens(8)
    optimizer = RecordingSGD(model.parameters())
    train_epoch(
        model, optimizer, [(tokens, labels, None)], train=dataclasses.replace(TINY_TRAIN, grad_clip=grad_clip),
        aux=TINY_AUX, phase="joint", anchor_generator=torch.Generator().manual_seed(0), device=CPU,
    )  # fmt: skip
    return optimizer.seen[0]


@pytest.mark.parametrize("kind", ["lstm", "r_lstm"])
def test_gradients_are_clipped_to_the_global_norm_over_all_parameters(kind):
    model = tiny_model(kind)
    raw = _applied_gradients(model, None)
    total = torch.linalg.vector_norm(torch.stack([g.norm() for g in raw])).item()
    clip = total / 10
    clipped = _applied_gradients(model, clip)
    for g_raw, g_clipped in zip(raw, clipped):  # every parameter, embedding to heads, scaled by one factor
        torch.testing.assert_close(g_clipped, g_raw * (clip / total), rtol=1e-6, atol=1e-12)


def _model_predicting(labels_right: list[bool]):
    """An eval-mode model and labels such that example i is classified correctly iff labels_right[i]."""
    model = tiny_model("lstm").eval()
    tokens, _ = _tokens(len(labels_right), seed=3)
    with torch.no_grad():
        predicted = model(tokens).argmax(-1)
    labels = torch.where(torch.tensor(labels_right), predicted, (predicted + 1) % CLASSES)
    return model, tokens, labels


def test_evaluation_pools_examples_across_batches_of_unequal_size():
    model, tokens, labels = _model_predicting([True, True, True, False])
    batches = [(tokens[:3], labels[:3], None), (tokens[3:], labels[3:], None)]  # accuracies 1 and 0
    metrics = evaluate(model, batches, CPU)
    assert metrics.mean("accuracy") == 0.75  # not (1 + 0) / 2
    with torch.no_grad():
        expected = F.cross_entropy(model(tokens), labels).item()
    assert metrics.mean("loss") == pytest.approx(expected, rel=1e-12)


def test_training_metrics_weight_each_batch_by_its_size():
    model = tiny_model("lstm")
    model.eval()  # no DropConnect in this tiny model; eval mode keeps both passes identical
    tokens, labels = _tokens(4)
    batches = [(tokens[:3], labels[:3], None), (tokens[3:], labels[3:], None)]
    expected = []
    for batch_tokens, batch_labels, _ in batches:
        with torch.no_grad():
            terms = compute_losses(model, batch_tokens, batch_labels, train=TINY_TRAIN, aux=TINY_AUX, phase="joint",
                                   anchor_generator=torch.Generator())  # fmt: skip
        expected.append((terms.total.item(), (terms.logits.argmax(-1) == batch_labels).sum().item()))
    sums, steps, _ = train_epoch(
        model, torch.optim.SGD(model.parameters(), lr=0.0), batches, train=TINY_TRAIN, aux=TINY_AUX, phase="joint",
        anchor_generator=torch.Generator(), device=CPU,
    )  # fmt: skip
    assert sums.mean("loss") == pytest.approx((3 * expected[0][0] + expected[1][0]) / 4, rel=1e-9)
    assert sums.mean("accuracy") == (expected[0][1] + expected[1][1]) / 4
    assert steps == 4 * SEQ_LEN


def test_tokens_per_second_counts_the_real_steps_of_every_batch():
    tokens, labels = _tokens(6)
    lengths = torch.tensor([12, 5, 9, 3, 12, 7])
    for batch_lengths, expected in ((None, 6 * SEQ_LEN), (lengths, int(lengths.sum()))):
        reported = []
        fit(tiny_model("lstm"), train_batches=lambda g, bl=batch_lengths: [(tokens, labels, bl)],
            val_batches=lambda: [(tokens, labels, None)], train=dataclasses.replace(TINY_TRAIN, epochs=1),
            aux=TINY_AUX, device=CPU, on_epoch=reported.append)  # fmt: skip
        (metrics,) = reported
        assert metrics["tokens_per_second"] * metrics["epoch_seconds"] == pytest.approx(expected, rel=1e-9)


class AnchorRecorder(nn.Module):
    """A `wrap` for the loss module (the hook data parallelism uses) that records the anchors of every step."""

    def __init__(self, inner: LossModule, log: list) -> None:
        super().__init__()
        self.inner, self.log = inner, log

    def forward(self, tokens, labels, lengths, anchors, *rest):
        self.log.append(anchors.clone())
        return self.inner(tokens, labels, lengths, anchors, *rest)


@pytest.mark.parametrize("sampling", ["per_example", "per_batch"])
def test_anchors_are_fresh_for_every_batch_and_every_epoch(sampling):
    aux = dataclasses.replace(TINY_AUX, anchor_sampling=sampling, segment_len=2, anchors=1)
    tokens, labels = _tokens(16)
    log: list[torch.Tensor] = []
    batches = [(tokens[i : i + 4], labels[i : i + 4], None) for i in range(0, 16, 4)]
    fit(tiny_model("r_lstm", aux), train_batches=lambda g: batches, val_batches=lambda: batches[:1],
        train=dataclasses.replace(TINY_TRAIN, epochs=3), aux=aux, device=CPU,
        wrap=lambda module: AnchorRecorder(module, log))  # fmt: skip
    assert len(log) == 12  # 3 epochs x 4 batches
    epochs = [tuple(tuple(a.flatten().tolist()) for a in log[e * 4 : e * 4 + 4]) for e in range(3)]
    for epoch in epochs:
        assert len(set(epoch)) > 1, "every batch of an epoch got the same anchors"
    assert len(set(epochs)) == 3, "an epoch repeated another's anchors"


def test_the_reported_test_accuracy_is_the_test_splits(tmp_path):
    from data import iterate_batches, load_dataset
    from models import build_model
    from models.checkpoint import load_checkpoint
    from study.run.config import load_config
    from study.run.runner import run_config

    cfg = load_config(None, [
        "model.kind=lstm", "data.name=synthetic", "data.seq_len=12", "data.limit_train=256", "data.limit_eval=200",
        "train.truncation=null", "train.epochs=2", "train.optimizer=adam", "train.lr=1e-2", "model.d_hidden=16",
        "model.d_ffn=16", "model.dropconnect=0.0", "data.batch_size=32",
    ])  # fmt: skip
    data_dir = tmp_path / "data"
    metrics = run_config(cfg, data_dir, tmp_path / "run")
    dataset = load_dataset(cfg.data, data_dir)
    model = build_model(cfg.model, cfg.aux, vocab_size=dataset.vocab_size, num_classes=dataset.num_classes,
                        seq_len=dataset.seq_len)  # fmt: skip
    model.load_state_dict(load_checkpoint(tmp_path / "run" / "checkpoint.pt")["model"])

    def accuracy(split) -> float:
        return evaluate(model, iterate_batches(split, 64, shuffle=False), CPU).mean("accuracy")

    assert metrics["test_accuracy"] == accuracy(dataset.test)
    assert metrics["val_accuracy"] == accuracy(dataset.val)
    assert not math.isclose(accuracy(dataset.test), accuracy(dataset.val))  # the check can tell them apart


def test_a_run_whose_loss_runs_away_stops_as_diverged_and_the_guard_can_be_switched_off():
    from models import AuxConfig, ModelConfig, TrainConfig, build_model

    torch.manual_seed(0)
    tokens, labels = torch.randint(0, 8, (32, 12)), torch.randint(0, 2, (32,))
    batches = lambda g: [(tokens[i : i + 8], labels[i : i + 8], None) for i in range(0, 32, 8)]  # noqa: E731

    def run(lr, factor):
        model = build_model(ModelConfig(kind="lstm", d_embed=8, d_hidden=8, d_ffn=8, dropconnect=0.0), AuxConfig(),
                            vocab_size=8, num_classes=2, seq_len=12)  # fmt: skip
        train = TrainConfig(epochs=2, truncation=4, lr=lr, grad_clip=None, divergence_factor=factor)
        return fit(model, train_batches=batches, val_batches=None, train=train, aux=AuxConfig(),
                   device=torch.device("cpu"))  # fmt: skip

    with pytest.raises(FloatingPointError, match=r"over 10 times the joint phase's starting loss .*: diverged"):
        run(1e6, 10.0)
    state = run(1e6, None)  # the guard off: it trains on, its loss far above where it started
    assert state.history[-1]["train/loss"] > 10 * state.history[0]["train/start_loss"]
    healthy = run(1e-3, 10.0)  # a normal run is never stopped
    assert len(healthy.history) == 2 and healthy.history[0]["train/start_loss"] > 0
