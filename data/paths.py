"""Where prepared datasets live: CLI value, else $AUXLSTM_DATA_DIR, else ~/.cache/auxlstm."""

from __future__ import annotations

import os
import pathlib

DATA_DIR_ENV = "AUXLSTM_DATA_DIR"


def default_data_dir(cli_value: str | None = None) -> pathlib.Path:
    """Resolve the data directory; an empty value counts as unset."""
    if cli_value:
        return pathlib.Path(cli_value).expanduser()
    env_value = os.environ.get(DATA_DIR_ENV)
    if env_value:
        return pathlib.Path(env_value).expanduser()
    return pathlib.Path.home() / ".cache" / "auxlstm"
