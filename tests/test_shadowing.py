"""Commands that work from any folder. `python -m` looks in the current folder first, so a folder there named like
one of the project's packages (`data/`, `models/`, `study/`, `tuning/`) stands in for it: every command line
refuses that in one line naming the folder (exit 2), before importing any of them, and the console scripts, which
leave the current folder off the import path, run there as anywhere; so do the Ray workers they start."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from study.run.shadowing import PACKAGES, shadowing_message
from tests.helpers import console_scripts

ROOT = Path(__file__).parents[1]
SCRIPTS = console_scripts()
STUDY_SCRIPTS = {script: module for script, module in SCRIPTS.items() if module.startswith("study.")}
GUARDS = {"study": "study.run.shadowing", "data": "data.shadowing"}  # each command line's package: its check
# A driver joining the test cluster from the current folder; its workers import the project's packages.
WORKER_IMPORTS = """
import os, ray
from tuning.cluster import init_ray
init_ray({address!r})
@ray.remote
def where():
    import data, models, study
    return [package.__file__ for package in (data, models, study)]
print(os.getcwd())
print(ray.get(where.remote()))
"""


def _env(**changes: str) -> dict[str, str]:
    """This process's environment without PYTHONPATH, and without PYTHONSAFEPATH (Python 3.11's -P: it leaves the
    current folder off the path, so nothing would be shadowed), then `changes`."""
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    return {**env, **changes}


def _workspace(tmp_path: Path, *names: str, package: bool) -> Path:
    """A user's folder holding folders `names`: bare (a prepared `data/mnist/`) or packages that fail on import."""
    for name in names:
        (tmp_path / name / "mnist").mkdir(parents=True)
        if package:
            (tmp_path / name / "__init__.py").write_text(f"raise RuntimeError('the folder {name}/ was imported')\n")
    return tmp_path


def _python_m(cwd: Path, module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def _assert_refused(result: subprocess.CompletedProcess, folder: Path, name: str, script: str) -> None:
    """Exit 2, nothing on stdout, and on stderr the one line naming `folder` and the console script."""
    assert (result.returncode, result.stdout) == (2, ""), result.stderr
    assert result.stderr == shadowing_message(folder, name, script) + "\n"


@pytest.fixture(scope="module")
def editable_install(tmp_path_factory) -> dict[str, str]:
    """The environment of a run that finds the project through its installation only (no PYTHONPATH), as a user's
    does; fails unless that installation is this checkout, in editable mode as `make install` makes it."""
    code = "import importlib.util; print(getattr(importlib.util.find_spec('study'), 'origin', None))"
    found = subprocess.run([sys.executable, "-c", code], cwd=tmp_path_factory.mktemp("elsewhere"), env=_env(),
                           capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    assert Path(found).resolve() == (ROOT / "study" / "__init__.py").resolve(), (
        f"{sys.executable} imports study from {found}, not this checkout: run `make install` (pip install -e .)"
    )
    return _env()


def test_every_command_line_checks_first_and_imports_the_project_only_after():
    for script, module in SCRIPTS.items():
        body = ast.parse((ROOT / module.replace(".", "/")).with_suffix(".py").read_text()).body
        top = [n.module for n in body if isinstance(n, ast.ImportFrom) and (n.module or "").split(".")[0] in PACKAGES]
        assert top == [GUARDS[module.split(".")[0]]], f"{module} imports {top} before its check"
        main = next(n for n in body if isinstance(n, ast.FunctionDef) and n.name == "main")
        assert ast.unparse(main.body[0]) == f"refuse_shadowed('{script}')", f"{module}.main must check first"


@pytest.mark.parametrize("script", sorted(STUDY_SCRIPTS))
def test_python_m_refuses_a_package_named_data_in_the_current_folder(script, tmp_path):
    # The user's package would win over the project on any path: its __init__ must not even run.
    cwd = _workspace(tmp_path, "data", package=True)
    result = _python_m(cwd, STUDY_SCRIPTS[script], "--help", env=_env(PYTHONPATH=str(ROOT)))
    _assert_refused(result, cwd / "data", "data", script)


@pytest.mark.parametrize("name", ["models", "tuning"])
def test_python_m_refuses_a_package_named_models_or_tuning(name, tmp_path):
    cwd = _workspace(tmp_path, name, package=True)
    result = _python_m(cwd, "study.sweep", "--help", env=_env(PYTHONPATH=str(ROOT)))
    _assert_refused(result, cwd / name, name, "auxlstm-sweep")


@pytest.mark.parametrize(("name", "module", "script"), [
    ("data", "study.sweep", "auxlstm-sweep"),  # the measured failure: `cannot import name 'DatasetError' from 'data'`
    ("data", "data.prepare", "auxlstm-prepare"),
    ("data", "data.info", "auxlstm-data-info"),
    ("study", "study.train", "auxlstm-train"),
])  # fmt: skip
def test_python_m_refuses_a_bare_folder_before_an_editable_install(name, module, script, tmp_path, editable_install):
    # A bare folder (a namespace package) wins over a project found by the editable install's finder.
    cwd = _workspace(tmp_path, name, package=False)
    _assert_refused(_python_m(cwd, module, "--help", env=editable_install), cwd / name, name, script)


def test_python_m_runs_in_the_project_folder_itself():
    result = _python_m(ROOT, "study.export", "--help", env=_env(PYTHONPATH=str(ROOT)))
    assert result.returncode == 0 and "usage: python -m study.export" in result.stdout, result.stderr


def test_the_console_scripts_run_where_python_m_is_refused(tmp_path, editable_install):
    cwd = _workspace(tmp_path, *PACKAGES, package=True)
    bin_dir = Path(sys.executable).parent
    for script, module in SCRIPTS.items():
        path = bin_dir / script
        assert path.is_file(), f"{path} is missing: run `make install` (pip install -e .) to install the scripts"
        assert f"from {module} import main" in path.read_text(), f"{path} is stale: run `make install`"
    for command in (["auxlstm-sweep", "--help"], ["auxlstm-prepare", "--help"],
                    ["auxlstm-memory", "predict", "--set", "model.kind=r_lstm"]):  # fmt: skip
        result = subprocess.run([str(bin_dir / command[0]), *command[1:]], cwd=cwd, env=editable_install,
                                capture_output=True, text=True, timeout=120)  # fmt: skip
        assert result.returncode == 0 and result.stderr == "", f"{command}: {result.stderr}"
        assert result.stdout.startswith("usage: ") if "--help" in command else "MB" in result.stdout, result.stdout


@pytest.mark.slow
def test_ray_workers_import_the_project_not_the_drivers_folder(ray_cluster, tmp_path):
    # Ray puts the driver's current folder first on its workers' import path: without init_ray's care, every trial
    # of an `auxlstm-sweep` run from a workspace with a data/ folder failed, the driver itself being immune.
    cwd = _workspace(tmp_path, "data", "models", "study", package=True)
    result = subprocess.run([sys.executable, "-c", WORKER_IMPORTS.format(address=ray_cluster.address)], cwd=cwd,
                            env=_env(PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=180)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    ours = [str(ROOT.resolve() / name / "__init__.py") for name in ("data", "models", "study")]
    assert result.stdout.splitlines()[-2:] == [str(cwd), str(ours)]  # and the driver is back in its folder
