"""Where a sweep's Optuna study lives: `optuna.db` in the sweep directory, as an SQLite URL."""

from __future__ import annotations

from pathlib import Path

OPTUNA_DB = "optuna.db"


def storage_url(sweep_dir: Path) -> str:
    """The SQLite URL of the sweep's Optuna storage, absolute (trials run in other directories)."""
    return f"sqlite:///{(Path(sweep_dir) / OPTUNA_DB).resolve()}"
