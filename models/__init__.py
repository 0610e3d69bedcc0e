"""Models, losses and the framework-free trainer. Imports torch only: no Ray, Optuna or MLflow.

`MODELS` (models/registry.py) holds what each model kind means; everything outside models/ asks it.
"""

from __future__ import annotations

from models.catalog import KindInfo
from models.config import AuxConfig, ModelConfig, TrainConfig
from models.registry import MODELS, build_model, kind_names, kinds_reading, reads

__all__ = [
    "MODELS", "AuxConfig", "KindInfo", "ModelConfig", "TrainConfig", "build_model", "kind_names", "kinds_reading",
    "reads",
]  # fmt: skip
