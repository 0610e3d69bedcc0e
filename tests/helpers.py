"""Small helpers several test packages share: a free loopback port, a process's command line, a CLI run that says
whether it imported Ray, and the project's console scripts."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]

# Runs a CLI's main(argv) in a fresh interpreter, then prints the Ray modules it had imported by then.
RAY_IMPORTED = (
    "import importlib, sys; rc = importlib.import_module(sys.argv[1]).main(sys.argv[2:]); "
    "print(sorted(m for m in sys.modules if m.split('.')[0] == 'ray')); sys.exit(rc)"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cmdline(pid: int) -> bytes:
    """The command line of process `pid` (b"" once it is gone)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def run_before_ray(cwd: Path, cli: str, *args: str) -> subprocess.CompletedProcess:
    """`python -m cli args`, as its main(argv) in a fresh interpreter; the last line of its stdout lists the Ray
    modules imported by the time it returned ("[]": it stopped before Ray)."""
    return subprocess.run([sys.executable, "-c", RAY_IMPORTED, cli, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)  # fmt: skip


def console_scripts() -> dict[str, str]:
    """pyproject.toml's [project.scripts]: each console script and the module whose `main` it calls."""
    table = re.search(r"^\[project\.scripts\]\n(.*?)(?:^\[|\Z)", (ROOT / "pyproject.toml").read_text(), re.M | re.S)
    assert table, "pyproject.toml has no [project.scripts]"
    scripts = {}
    for line in table.group(1).splitlines():
        if line.strip() and not line.startswith("#"):
            entry = re.fullmatch(r'([\w-]+) = "([\w.]+):main"', line)
            assert entry, f"[project.scripts]: {line!r} is not NAME = \"MODULE:main\""
            scripts[entry[1]] = entry[2]
    return scripts
