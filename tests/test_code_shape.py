"""The code stays readable in one sitting: no function in study/ or tuning/ over 80 lines, and the command lines
of study/ thin (under 150 lines: arguments, one call, print, exit code)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).parents[1]
MAX_FUNCTION_LINES = 80
MAX_CLI_LINES = 150


def test_no_function_in_study_or_tuning_is_over_80_lines():
    long = []
    for package in ("study", "tuning"):
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_FUNCTION_LINES:
                        long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == [], "split these into functions that each do one thing"


def test_the_command_lines_of_study_are_thin():
    clis = [p for p in (ROOT / "study").glob("*.py") if p.stem != "__init__"]
    commands = {"train", "sweep", "export", "report", "reproduce", "bench", "memory", "ui", "replay"}
    assert {p.stem for p in clis} == commands
    long = {p.name: n for p in clis if (n := len(p.read_text().splitlines())) >= MAX_CLI_LINES}
    assert long == {}, "a command line parses, makes one call, prints and returns: move the rest below it"
