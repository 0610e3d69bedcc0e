"""Package boundaries: the core trains without Ray, Optuna or MLflow, CLIs do nothing at import, and imports point
one way, between the top-level packages and between the subpackages of study/ (CLIs on top)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
FRAMEWORKS = ("ray", "optuna", "mlflow")
# study/'s subpackages, lowest first: each may import only those before it (and itself); none imports a CLI.
STUDY_LAYERS = ("run", "spec", "results", "cost", "reporting", "driver")

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


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(path: Path) -> list[str]:
    """Every module `path` imports, at its top or inside a function, as absolute dotted names."""
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
    return names


def _cli_modules() -> set[str]:
    return {f"study.{p.stem}" for p in (ROOT / "study").glob("*.py") if p.stem != "__init__"}


def test_models_and_data_import_and_train_without_ray_optuna_or_mlflow():
    result = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_models_and_data_never_import_ray_optuna_or_mlflow_in_any_module():
    for package in ("models", "data"):
        for path in _modules(package):
            leaked = [n for n in _imports(path) if n.split(".")[0] in FRAMEWORKS]
            assert leaked == [], f"{path.relative_to(ROOT)} imports {leaked}"


def test_cli_modules_do_nothing_at_import_time_and_load_ray_only_when_they_run():
    modules = ", ".join(sorted(_cli_modules() | {"data.prepare", "data.info"}))
    code = f"import sys, {modules}; print(sorted(m for m in sys.modules if m.split('.')[0] in {FRAMEWORKS}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n" and result.stderr == ""


def test_tuning_does_not_import_study():
    # The sweep entry point hands tuning/ what it needs; the layers only point downward.
    for path in _modules("tuning"):
        imports = [n for n in _imports(path) if n.split(".")[0] == "study"]
        assert imports == [], path.relative_to(ROOT)


def test_no_module_imports_a_cli_module():
    clis = _cli_modules()
    for package in ("study", "tuning", "models", "data"):
        for path in _modules(package):
            used = sorted({n for n in _imports(path) if n in clis} - {f"study.{path.stem}"})
            assert used == [], f"{path.relative_to(ROOT)} imports the command-line module(s) {used}"


def test_study_subpackages_import_only_the_layers_below_them():
    found = {p.name for p in (ROOT / "study").iterdir() if (p / "__init__.py").exists()}
    assert found == set(STUDY_LAYERS), f"study/ has subpackages {sorted(found)}; give each its layer here"
    for depth, layer in enumerate(STUDY_LAYERS):
        allowed = set(STUDY_LAYERS[: depth + 1])
        for path in _modules(f"study/{layer}"):
            above = sorted({n.split(".")[1] for n in _imports(path) if n.startswith("study.")} - allowed)
            assert above == [], f"{path.relative_to(ROOT)} (layer {layer}) imports study.{above}, a layer above it"
