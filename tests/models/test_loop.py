"""The framework-free trainer: phases, reported metrics, checkpoints and exact resumption."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from models.config import TrainConfig
from models.loop import build_optimizer, epoch_generator, fit, learning_rate
from tests.models.conftest import CLASSES, SEQ_LEN, TINY_AUX, TINY_TRAIN, VOCAB, tiny_model

REPORTED = {
    "train/loss", "train/loss_main", "train/loss_aux", "val/accuracy", "tokens_per_second", "peak_memory_mb",
    "eval_peak_memory_mb",
}  # fmt: skip


def _data(n: int = 24):
    gen = torch.Generator().manual_seed(5)
    tokens = torch.randint(0, VOCAB, (n, SEQ_LEN), generator=gen, dtype=torch.uint8)
    labels = torch.randint(0, CLASSES, (n,), generator=gen)

    def train_batches(order_gen: torch.Generator):
        order = torch.randperm(n, generator=order_gen)
        for i in range(0, n, 8):
            yield tokens[order[i : i + 8]], labels[order[i : i + 8]], None

    return train_batches, lambda: [(tokens, labels, None)]


def _fit(model, *, epochs, pretrain=1, aux=TINY_AUX, train=TINY_TRAIN, **kwargs):
    train_batches, val_batches = _data()
    return fit(
        model,
        train_batches=train_batches,
        val_batches=val_batches,
        train=dataclasses.replace(train, epochs=epochs),
        aux=dataclasses.replace(aux, pretrain_epochs=pretrain),
        device=torch.device("cpu"),
        **kwargs,
    )


def test_pretraining_then_joint_training_reports_every_metric():
    model = tiny_model("r_lstm", dropconnect=0.5)
    classifier_before = [p.clone() for p in model.classifier.parameters()]
    reported = []
    state = _fit(model, epochs=2, pretrain=1, on_epoch=lambda m: reported.append(dict(m)))
    assert [m["phase"] for m in reported] == ["pretrain", "joint", "joint"]
    assert state.epoch == 3 and state.history == reported
    for metrics in reported:
        assert REPORTED <= metrics.keys()
        assert metrics["tokens_per_second"] > 0 and metrics["peak_memory_mb"] >= 0
        assert 0 <= metrics["val/accuracy"] <= 1
    assert reported[0]["train/loss_main"] == 0 and reported[0]["train/loss_aux"] > 0
    assert reported[1]["train/loss_main"] > 0
    assert reported[1]["train/loss"] > reported[1]["train/loss_main"]
    # only the joint phase moves the classifier
    pretrain_only = tiny_model("r_lstm", dropconnect=0.5)
    _fit(pretrain_only, epochs=0, pretrain=1)
    assert all(torch.equal(a, b) for a, b in zip(classifier_before, pretrain_only.classifier.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(classifier_before, model.classifier.parameters()))


def test_models_without_auxiliary_loss_skip_pretraining():
    state = _fit(tiny_model("lstm"), epochs=2, pretrain=5)
    assert [m["phase"] for m in state.history] == ["joint", "joint"]
    assert all(m["train/loss_aux"] == 0 for m in state.history)


def test_resuming_from_a_checkpoint_reproduces_an_uninterrupted_run(tmp_path):
    straight = tiny_model("p_lstm", dropconnect=0.5)
    _fit(straight, epochs=3, pretrain=1)

    interrupted = tiny_model("p_lstm", dropconnect=0.5)
    path = tmp_path / "checkpoint.pt"
    _fit(interrupted, epochs=1, pretrain=1, checkpoint_path=path)
    assert path.exists() and not path.with_name("checkpoint.pt.tmp").exists()
    resumed = tiny_model("p_lstm", seed=123, dropconnect=0.5)  # different init: everything must come from disk
    state = _fit(resumed, epochs=3, pretrain=1, checkpoint_path=path, resume=True)
    assert state.epoch == 4 and [m["epoch"] for m in state.history] == [1, 2, 3, 4]
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(a, b), name


def test_random_streams_differ_by_epoch_rank_and_purpose_and_repeat_exactly():
    def draw(*args):
        return torch.randperm(50, generator=epoch_generator(7, *args)).tolist()

    assert draw("data", 3, 0) == draw("data", 3, 0)
    assert len({tuple(draw(*a)) for a in [("data", 3, 0), ("data", 4, 0), ("data", 3, 1), ("anchors", 3, 0)]}) == 4


def test_each_epoch_gets_a_fresh_data_order():
    orders = []
    train_batches, val_batches = _data()

    def recording(generator):
        orders.append(torch.randperm(24, generator=generator.clone_state()).tolist())
        return train_batches(generator)

    fit(tiny_model("lstm"), train_batches=recording, val_batches=val_batches,
        train=dataclasses.replace(TINY_TRAIN, epochs=3), aux=TINY_AUX, device=torch.device("cpu"))  # fmt: skip
    assert len(orders) == 3 and len({tuple(o) for o in orders}) == 3


def test_random_segment_offsets_train_through_the_loop():
    aux = dataclasses.replace(TINY_AUX, segment_offset="random", pretrain_epochs=1)
    state = _fit(tiny_model("r_lstm", aux), epochs=1, pretrain=1, aux=aux)
    assert state.epoch == 2 and all(m["train/loss_aux"] > 0 for m in state.history)


@pytest.mark.parametrize(
    ("epoch", "factor"),
    [(0, 1), (2, 0.5**0.5), (4, 1), (6, 1), (7, 0.5), (9, 0.5), (10, 0.25), (13, 0.125)],
)
def test_the_halving_schedule_decays_over_pretraining_then_halves_every_fraction_of_training(epoch, factor):
    # 4 pretraining epochs: lr * 0.5^(e/4); then 10 joint epochs halved every round(0.3 * 10) = 3 of them.
    train = TrainConfig(lr=1e-3, epochs=10, lr_schedule="halve", lr_halve_every=0.3)
    assert learning_rate(train, 4, epoch) == pytest.approx(1e-3 * factor)
    assert learning_rate(dataclasses.replace(train, lr_schedule="none"), 4, epoch) == 1e-3


def test_the_schedule_sets_the_rate_the_optimizer_uses_and_survives_a_resume(tmp_path):
    """Two epochs halving after the first equal one epoch at lr, then a resumed epoch at a constant lr / 2."""
    halving = dataclasses.replace(TINY_TRAIN, lr=1e-2, lr_schedule="halve", lr_halve_every=0.5)
    scheduled = tiny_model("lstm")
    state = _fit(scheduled, epochs=2, pretrain=0, train=halving)
    assert [m["lr"] for m in state.history] == [1e-2, 5e-3]

    path = tmp_path / "checkpoint.pt"
    by_hand = tiny_model("lstm")
    _fit(by_hand, epochs=1, pretrain=0, train=dataclasses.replace(TINY_TRAIN, lr=1e-2), checkpoint_path=path)
    _fit(by_hand, epochs=2, pretrain=0, train=dataclasses.replace(TINY_TRAIN, lr=5e-3), checkpoint_path=path,
         resume=True)  # fmt: skip
    for (name, a), b in zip(scheduled.state_dict().items(), by_hand.state_dict().values()):
        assert torch.equal(a, b), name
    constant = tiny_model("lstm")
    _fit(constant, epochs=2, pretrain=0, train=dataclasses.replace(TINY_TRAIN, lr=1e-2))
    assert not torch.equal(constant.lstm.weight_hh_l0, scheduled.lstm.weight_hh_l0)


def test_rmsprop_takes_its_decay_and_epsilon_from_the_config():
    optimizer = build_optimizer(tiny_model("lstm"), TrainConfig(rmsprop_alpha=0.9, rmsprop_eps=1e-10))
    assert isinstance(optimizer, torch.optim.RMSprop)
    assert (optimizer.defaults["alpha"], optimizer.defaults["eps"]) == (0.9, 1e-10)


def test_without_validation_batches_no_validation_metric_is_reported():
    train_batches, _ = _data()
    state = fit(
        tiny_model("lstm"), train_batches=train_batches, val_batches=None, train=dataclasses.replace(TINY_TRAIN,
        epochs=2), aux=TINY_AUX, device=torch.device("cpu"),
    )  # fmt: skip
    assert len(state.history) == 2
    assert not any(key.startswith("val/") or key == "eval_peak_memory_mb" for m in state.history for key in m)
    assert all(m["train/loss"] > 0 for m in state.history)
