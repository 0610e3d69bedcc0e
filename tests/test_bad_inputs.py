"""The bad-input corpus (tests/bad_inputs/, format in its README.md): every malformed config, spec or command line
is refused before Ray starts, with exit code 2 and a message naming the key and what it allows.

Each case runs its CLI's `main(argv)` in this process, with the working directory in tmp_path and Ray made
unimportable: a CLI that reached for Ray before refusing the input fails with ImportError instead of exit 2.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest
import yaml

CASES_DIR = Path(__file__).parent / "bad_inputs"
CLIS = ("study.train", "study.sweep", "study.export", "study.report", "study.replay", "data.prepare")
CATEGORIES = (
    "unknown key",
    "wrong type",
    "size not positive",
    "longer than the sequence",
    "empty space or contradictory settings",
    "unknown name",
    "yaml syntax or unreadable file",
    "conflicting or bad flags",
)
CASE_KEYS = {"why", "category", "cli", "argv", "file", "expect"}
INPUT = "input.yaml"  # the name `{file}` stands for, in the case's working directory


def _load(path: Path) -> dict:
    case = yaml.safe_load(path.read_text())
    # A malformed case would test nothing: refuse it as loudly as the CLIs refuse theirs.
    assert isinstance(case, dict) and not set(case) - CASE_KEYS, f"{path.name}: keys must be among {CASE_KEYS}"
    assert case.get("why") and case.get("category") in CATEGORIES, f"{path.name}: why, and category in {CATEGORIES}"
    assert case.get("cli") in CLIS, f"{path.name}: cli must be one of {CLIS}"
    assert isinstance(case.get("argv"), list) and all(isinstance(a, str) for a in case["argv"]), path.name
    assert isinstance(case.get("expect"), list) and case["expect"], f"{path.name}: expect must list substrings"
    assert ("file" in case) == any("{file}" in a for a in case["argv"]), f"{path.name}: file and {{file}} go together"
    return case


CASES = {path.stem: _load(path) for path in sorted(CASES_DIR.glob("*.yaml"))}
# The corpus is the point of the test: it must not shrink unnoticed, nor lose a kind of bad input.
assert len(CASES) >= 30, f"only {len(CASES)} cases in {CASES_DIR}"
assert {c["category"] for c in CASES.values()} == set(CATEGORIES), "every category needs at least one case"


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_refused_before_ray_starts_naming_the_key_with_exit_code_2(name, tmp_path, monkeypatch, capsys):
    case = CASES[name]
    monkeypatch.chdir(tmp_path)  # relative --out, --sweeps-dir and the default ./mlflow.db land in tmp_path
    monkeypatch.setenv("AUXLSTM_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PIP_NO_INDEX", "1")  # an input wrongly accepted fails fast instead of downloading
    if "file" in case:
        (tmp_path / INPUT).write_text(case["file"])
    argv = [arg.replace("{file}", INPUT) for arg in case["argv"]]
    main = importlib.import_module(case["cli"]).main  # before Ray is blocked: no import caches a missing Ray
    before = sorted(tmp_path.rglob("*"))
    was_initialized = "ray" in sys.modules and sys.modules["ray"].is_initialized()  # by another test's cluster
    for module in [m for m in sys.modules if m == "ray" or m.startswith("ray.")] or ["ray"]:
        monkeypatch.setitem(sys.modules, module, None)  # `import ray` now raises: Ray cannot start

    try:
        code = main(argv)
    except SystemExit as stop:  # argparse refuses with SystemExit(2)
        code = stop.code
    err = capsys.readouterr().err

    assert code == 2, f"exit code {code}; stderr: {err}"
    missing = [text for text in case["expect"] if text not in err]
    assert not missing, f"stderr lacks {missing}:\n{err}"
    monkeypatch.undo()
    assert was_initialized or "ray" not in sys.modules or not sys.modules["ray"].is_initialized()
    assert sorted(tmp_path.rglob("*")) == before, "the refused input left files (a run or sweep directory, mlflow.db)"
