"""Registry, configuration checks, data directory resolution and import hygiene."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import pytest

from data import DATASETS, DatasetError, default_data_dir, load_dataset
from data.config import DataConfig
from data.registry import by_name


def test_registry_entries() -> None:
    for name in ("mnist", "pmnist"):
        info = DATASETS[name]
        assert (info.num_classes, info.channels, info.max_steps(DataConfig(image_size=14))) == (10, 1, 196)
        assert info.split_sizes == (50_000, 10_000, 10_000)
    for name, info in DATASETS.items():
        assert info.licence and info.source and info.description and info.lengths, name
        assert info.kind in ("real", "synthetic") or info.kind.startswith("stand-in for "), name
        assert info.num_classes >= 2 and info.channels in (1, 3) and min(info.split_sizes) > 0, name
        assert info.max_steps(DataConfig(name=name, max_len=300)) >= 2, name


def test_every_entry_is_keyed_by_its_own_name_and_names_are_unique() -> None:
    assert all(name == info.name for name, info in DATASETS.items())
    mnist = DATASETS["mnist"]
    assert by_name(mnist, DATASETS["pmnist"]) == {"mnist": mnist, "pmnist": DATASETS["pmnist"]}
    with pytest.raises(ValueError, match="two registry entries are named 'mnist'"):
        by_name(mnist, DATASETS["pmnist"], mnist)


def test_the_text_datasets_are_the_variable_length_entries() -> None:
    assert {name for name, info in DATASETS.items() if info.variable_length} == {"wordnet", "reviews", "dbpedia"}


def test_unknown_name_lists_valid_names(tmp_path: pathlib.Path) -> None:
    with pytest.raises(DatasetError, match=r"valid names: cifar10, .*mnist, .*pmnist"):
        load_dataset(DataConfig(name="cifar11"), tmp_path)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("cfg", "field"),
    [(DataConfig(image_size=1), "data.image_size"), (DataConfig(limit_train=0), "data.limit_train")],
)
def test_bad_config_fails_before_any_work(tmp_path: pathlib.Path, cfg: DataConfig, field: str) -> None:
    with pytest.raises(DatasetError, match=re.escape(field)):
        load_dataset(cfg, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_default_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setenv("AUXLSTM_DATA_DIR", str(tmp_path / "env"))
    assert default_data_dir("/cli") == pathlib.Path("/cli")
    assert default_data_dir() == tmp_path / "env"
    monkeypatch.delenv("AUXLSTM_DATA_DIR")
    assert default_data_dir() == pathlib.Path.home() / ".cache" / "auxlstm"


def test_import_is_light_and_side_effect_free(tmp_path: pathlib.Path) -> None:
    code = (
        "import sys, data, data.prepare, data.registry\n"
        "bad = [m for m in ('ray', 'optuna', 'mlflow') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    env = {"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and list(tmp_path.iterdir()) == []
