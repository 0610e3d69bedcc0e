"""The paper's Table 2 (test accuracy, %) and how a trial's config names its row and column."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from models import MODELS

# (row, column) -> test accuracy (%) as published (docs/method.md; Table 2 of Trinh et al., 2018).
TABLE2: dict[tuple[str, str], float] = {
    ("LSTM Full BP", "mnist"): 98.3, ("LSTM Full BP", "pmnist"): 89.4, ("LSTM Full BP", "cifar10"): 58.8,
    ("LSTM Truncate300", "mnist"): 11.3, ("LSTM Truncate300", "pmnist"): 88.8, ("LSTM Truncate300", "cifar10"): 49.0,
    ("Transformer", "mnist"): 98.9, ("Transformer", "pmnist"): 97.9, ("Transformer", "cifar10"): 62.2,
    ("r-LSTM Truncate300", "mnist"): 96.4, ("r-LSTM Truncate300", "pmnist"): 92.8,
    ("r-LSTM Truncate300", "cifar10"): 65.9,
    ("p-LSTM Truncate300", "mnist"): 95.4, ("p-LSTM Truncate300", "pmnist"): 92.5,
    ("p-LSTM Truncate300", "cifar10"): 64.7,
    ("r-LSTM Full BP", "mnist"): 98.4, ("r-LSTM Full BP", "pmnist"): 95.2, ("r-LSTM Full BP", "cifar10"): 72.2,
    ("p-LSTM Full BP", "mnist"): 98.0, ("p-LSTM Full BP", "pmnist"): 92.8, ("p-LSTM Full BP", "cifar10"): 67.6,
}  # fmt: skip
ROWS = tuple(dict.fromkeys(row for row, _ in TABLE2))
COLUMNS = ("mnist", "pmnist", "cifar10")


def method_of(config: Mapping[str, Any]) -> str:
    """A flat config's method in the paper's words: 'r-LSTM Truncate300', 'LSTM Full BP', 'Transformer', …

    Checkpointed full BPTT ('LSTM Full BP, checkpointed') is a method of its own: no Table 2 row, its own series
    in the length plots (its memory grows like sqrt(T), not T)."""
    info = MODELS.get(config["model.kind"])
    name = info.paper_name if info else config["model.kind"]
    if info is not None and not info.recurrent:  # reads the whole sequence: no truncation to name
        return name
    if config.get("train.supervised_grad") == "head_only":
        return f"{name} no backprop"
    truncation = config.get("train.truncation")
    if truncation is None:
        return f"{name} Full BP" + (", checkpointed" if config.get("train.checkpoint_chunk") is not None else "")
    return f"{name} Truncate{truncation}"
