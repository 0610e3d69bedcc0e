"""An installed project holds every package and data file the source tree has (an editable install would hide a
subpackage a wheel leaves out), and a console script for every command line."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
from pathlib import Path

from setuptools import find_packages

from tests.helpers import console_scripts

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


def command_lines() -> set[str]:
    """Every module of the project that runs as `python -m MODULE`: a top-level `main` and a `__main__` block."""
    found = set()
    for top in ("study", "models", "data", "tuning"):
        for path in (ROOT / top).rglob("*.py"):
            body = ast.parse(path.read_text()).body
            has_main = any(isinstance(node, ast.FunctionDef) and node.name == "main" for node in body)
            if has_main and "__name__ == \"__main__\"" in path.read_text():
                found.add(".".join(path.with_suffix("").relative_to(ROOT).parts))
    return found


def test_every_command_line_has_a_console_script_calling_its_main():
    scripts = console_scripts()
    assert sorted(scripts.values()) == sorted(command_lines()), "one [project.scripts] entry per python -m module"
    for script, module in scripts.items():
        assert script.startswith("auxlstm-"), script
        main = importlib.import_module(module).main
        argv = inspect.signature(main).parameters
        assert list(argv) == ["argv"] and argv["argv"].default is None, f"{module}.main(argv=None) -> int"


def test_the_cluster_extra_brings_rays_dashboard_and_jobs_api_at_the_pinned_ray():
    pyproject = (ROOT / "pyproject.toml").read_text()  # tomllib is Python 3.11+; the project supports 3.10
    (pin,) = re.findall(r'^\s*"ray\[tune,train\]([^"]+)",', pyproject, re.M)
    assert re.search(r'^cluster = \["ray\[default\]' + re.escape(pin) + r'"\]', pyproject, re.M), pin
