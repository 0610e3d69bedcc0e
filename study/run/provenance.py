"""Where a result came from: code commit, library versions, data checksum, and the command that reproduces it."""

from __future__ import annotations

import hashlib
import importlib.metadata
import platform
import shlex
import subprocess
from pathlib import Path

from data.config import DataConfig

PROJECT = Path(__file__).resolve().parents[2]  # the checkout: study/run/provenance.py
LIBRARIES = ("torch", "ray", "optuna", "mlflow", "pyarrow", "numpy")


def git_commit() -> str:
    """The project's commit, with '-dirty' when tracked files changed since; 'unknown' outside a checkout."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT, capture_output=True, text=True,
            check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def data_checksum(cfg: DataConfig, data_dir: Path) -> str:
    """sha256 over the prepared files of a dataset (prepared here if needed): what every trial reads."""
    from data import get_info
    from data.shipping import prepared_files

    prepared = get_info(cfg.name).prepare(data_dir, None)
    digest = hashlib.sha256()
    for path in prepared_files(prepared):
        digest.update(path.relative_to(prepared.parent).as_posix().encode())
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def command_line(module: str, args: list[str]) -> str:
    """The shell command `python -m module args`, quoted."""
    return shlex.join(["python", "-m", module, *args])
