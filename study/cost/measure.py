"""The runs a memory model is fitted to: a built-in grid of short training runs, each measured where it trains,
and finished `study.train` runs read back as results-table rows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def run_row(path: Path) -> dict[str, Any]:
    """A `study.train` run directory (config.yaml, history.json) as a results-table row."""
    from study.run.config import flatten, load_config

    history = Path(path) / "history.json"
    if not history.is_file():
        raise FileNotFoundError(f"{history} is missing: not a finished study.train run")
    return {"status": "COMPLETE", "config": flatten(load_config(Path(path) / "config.yaml")),
            "history": json.loads(history.read_text())}  # fmt: skip


# `measure`'s runs: kinds, truncations, batches and lengths (raster MNIST, long MNIST 2,304 to 16,384 steps) that
# span what the studies run. Each trains 4 batches of one epoch.
GRID = [
    ("lstm", None, 64, "mnist", 28), ("lstm", None, 128, "mnist_long", 64), ("lstm", 300, 128, "mnist_long", 64),
    ("r_lstm", 300, 128, "mnist", 28), ("r_lstm", 300, 64, "mnist_long", 90), ("p_lstm", 300, 128, "mnist_long", 64),
    ("lstm", None, 32, "mnist_long", 90), ("r_lstm", 300, 128, "mnist_long", 128), ("p_lstm", 300, 32, "mnist", 28),
    ("transformer", None, 32, "mnist", 28), ("lstm", None, 96, "mnist_long", 48), ("r_lstm", 300, 96, "mnist_long", 48),
]  # fmt: skip


def grid_settings(kind: str, truncation: int | None, batch: int, data: str, size: int) -> list[str]:
    return [
        f"model.kind={kind}", f"train.truncation={'null' if truncation is None else truncation}",
        f"data.batch_size={batch}", f"data.name={data}", f"data.image_size={size}", f"data.limit_train={4 * batch}",
        "data.limit_eval=256", "train.eval_batch_size=128", "train.epochs=1", "aux.pretrain_epochs=0",
    ]  # fmt: skip


def measure_run(settings: list[str], data_dir: str, out: str) -> None:
    """Train one `GRID` config into `out` (config.yaml, history.json), in this process."""
    from study.run.config import load_config
    from study.run.runner import run_config

    run_config(load_config(None, settings), Path(data_dir), Path(out))


def measure_grid(out: Path, data_dir: str | None) -> None:
    """Train every `GRID` config into out/NN_…: on CPU each in a fresh process (the rise of its resident set is
    the measure, as in a trial); on CUDA here, after dropping the last run's tensors (the peak counts live ones)."""
    import gc

    import torch

    from data import default_data_dir
    from study.cost.fresh_process import in_fresh_process

    for i, point in enumerate(GRID):
        run = (str(default_data_dir(data_dir)), str(out / f"{i:02d}_{'_'.join(map(str, point))}"))
        if torch.cuda.is_available():
            gc.collect()
            torch.cuda.empty_cache()
            measure_run(grid_settings(*point), *run)
        else:
            in_fresh_process(measure_run, grid_settings(*point), *run)
