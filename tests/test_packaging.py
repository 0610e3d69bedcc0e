"""An installed project holds every package and data file the source tree has (an editable install would hide a
subpackage a wheel leaves out)."""

from __future__ import annotations

import re
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).parents[1]


def test_the_build_finds_every_package_of_the_tree():
    pyproject = (ROOT / "pyproject.toml").read_text()
    include = re.search(r"\[tool\.setuptools\.packages\.find\]\s*include = \[([^\]]*)\]", pyproject)
    assert include, "pyproject.toml must find packages (a fixed list forgets new subpackages)"
    patterns = re.findall(r'"([^"]+)"', include.group(1))
    found = set(find_packages(where=ROOT, include=patterns))
    on_disk = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for top in ("study", "models", "data", "tuning")
        for p in (ROOT / top).rglob("__init__.py")
    }
    assert found == on_disk


def test_the_shipped_specs_configs_and_memory_models_are_package_data():
    pyproject = (ROOT / "pyproject.toml").read_text()
    data = re.search(r'^study = \[([^\]]*)\]', pyproject, re.M)
    assert data
    for pattern in re.findall(r'"([^"]+)"', data.group(1)):
        assert list((ROOT / "study").glob(pattern)), pattern
    shipped = {p.parent.name for p in (ROOT / "study").glob("*/*") if p.suffix in (".yaml", ".json")}
    assert shipped == {"configs", "specs", "memory_models"} and {f"{d}/" for d in shipped} <= {
        pattern.split("*")[0] for pattern in re.findall(r'"([^"]+)"', data.group(1))
    }
