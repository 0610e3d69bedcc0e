"""`train.precision`: bf16 autocast trains on CPU with fp32 weights; fp16 is refused where it cannot run."""

from __future__ import annotations

import pytest
import torch

from models import AuxConfig, TrainConfig
from models.checkpoint import load_checkpoint
from models.loop import fit
from study.run.config import ConfigError, load_config
from study.run.runner import run_config
from tests.models.conftest import CLASSES, SEQ_LEN, VOCAB, tiny_model


@pytest.mark.parametrize("kind", ["lstm", "r_lstm", "p_lstm"])
def test_bf16_autocasts_the_forward_and_keeps_fp32_weights(kind):
    model = tiny_model(kind).float()
    seen = []
    model.classifier.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, VOCAB, (8, SEQ_LEN), generator=gen)
    labels = torch.randint(0, CLASSES, (8,), generator=gen)
    before = [p.detach().clone() for p in model.parameters()]
    state = fit(
        model, train_batches=lambda g: [(tokens, labels, None)], val_batches=lambda: [(tokens, labels, None)],
        train=TrainConfig(epochs=2, truncation=5, precision="bf16"), device=torch.device("cpu"),
        aux=AuxConfig(segment_len=4, truncation=3, decoder_units=3, pretrain_epochs=0),
    )  # fmt: skip
    assert seen and set(seen) == {torch.bfloat16}  # training and evaluation forwards
    assert all(p.dtype == torch.float32 for p in model.parameters())
    assert any(not torch.equal(a, p) for a, p in zip(before, model.parameters()))  # it trained
    assert all(torch.isfinite(torch.tensor(h["train/loss"])) for h in state.history)


def test_fp16_on_a_cpu_is_refused_naming_the_key(tmp_path):
    cfg = load_config(None, ["train.precision=fp16", "train.device=cpu", "data.name=synthetic", "data.seq_len=20",
                             "aux.segment_len=5", "aux.truncation=5", "train.truncation=5"])  # fmt: skip
    with pytest.raises(ConfigError, match=r"train\.precision"):
        run_config(cfg, tmp_path / "data", tmp_path / "run")


def test_the_fp16_loss_scale_survives_a_resume(tmp_path):
    """The scaler's state (scale, steps since the last overflow) is checkpointed with the optimizer: a resumed run
    ends where an uninterrupted one does. The Transformer runs fp16 autocast on CPU, which the LSTM cannot."""
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, VOCAB, (8, SEQ_LEN), generator=gen)
    labels = torch.randint(0, CLASSES, (8,), generator=gen)

    def run(epochs, path, resume=False):
        fit(
            tiny_model("transformer").float(), train_batches=lambda g: [(tokens, labels, None)] * 3,
            val_batches=lambda: [(tokens, labels, None)], train=TrainConfig(epochs=epochs, precision="fp16"),
            aux=AuxConfig(pretrain_epochs=0), device=torch.device("cpu"), checkpoint_path=path, resume=resume,
        )  # fmt: skip
        return load_checkpoint(path)["scaler"]

    straight = run(2, tmp_path / "straight.pt")
    run(1, tmp_path / "resumed.pt")
    resumed = run(2, tmp_path / "resumed.pt", resume=True)
    assert straight["_growth_tracker"] == 6  # three steps per epoch, no overflow
    assert resumed == straight
