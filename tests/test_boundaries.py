"""Package boundaries: the core trains without Ray, Optuna or MLflow, and CLIs do nothing at import."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

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


def test_cli_modules_do_nothing_at_import_time_and_load_ray_only_when_they_run():
    code = (
        "import sys, study.train, study.sweep, study.export, study.bench, data.prepare, data.info; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ray', 'optuna', 'mlflow')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n" and result.stderr == ""


def test_tuning_does_not_import_study():
    # The sweep entry point hands tuning/ what it needs; the layers only point downward.
    for path in sorted((Path(__file__).parents[1] / "tuning").glob("*.py")):
        imports = [line for line in path.read_text().splitlines() if re.match(r"\s*(from|import) study\b", line)]
        assert imports == [], path.name
