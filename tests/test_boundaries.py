"""Package boundaries: the core trains without Ray, Optuna or MLflow, and CLIs do nothing at import."""

from __future__ import annotations

import subprocess
import sys

CHECK = """
import sys
import data, data.prepare, models, models.loop, models.truncated, models.checkpoint
from models import AuxConfig, ModelConfig, TrainConfig, build_model
from models.loop import fit
import torch
model = build_model(ModelConfig(kind="r_lstm", d_embed=4, d_hidden=4, d_ffn=4), AuxConfig(segment_len=3),
                    vocab_size=8, num_classes=2, seq_len=8)
tokens, labels = torch.randint(0, 8, (4, 8)), torch.randint(0, 2, (4,))
fit(model, train_batches=lambda g: [(tokens, labels, None)], val_batches=lambda: [(tokens, labels, None)],
    train=TrainConfig(epochs=1, truncation=3), aux=AuxConfig(segment_len=3, pretrain_epochs=1),
    device=torch.device("cpu"))
leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("ray", "optuna", "mlflow"))
print(leaked)
"""


def test_models_and_data_import_and_train_without_ray_optuna_or_mlflow():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_cli_modules_do_nothing_at_import_time():
    code = "import study.train, data.prepare; print('quiet')"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "quiet\n" and result.stderr == ""
