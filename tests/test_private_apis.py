"""Private Ray and Optuna APIs live where `tuning/private_apis.py` lists them, and their versions are pinned: a new
private use, or a pin widened past what was verified, fails here rather than silently on an upgrade."""

from __future__ import annotations

import re
from pathlib import Path

from tuning.private_apis import PRIVATE, VERIFIED

ROOT = Path(__file__).parents[1]
# A private module (`ray._raylet`) or a private attribute (`search._ot_study`, or `self._ot_study` in a subclass).
PRIVATE_USE = re.compile(r"\b(?:ray|optuna)(?:\.\w+)*\._\w+|\._(?!_)\w+")
# What a module defines itself: `def _x`, `self._x = ...`, `_x: ...` / `_x = ...` in a class body.
OWN = re.compile(r"def (_\w+)|self\.(_\w+)(?:[ \t]*:[^=\n]*)?[ \t]*=[^=]|^[ \t]+(_\w+)[ \t]*[:=]", re.M)


def _private_uses(path: Path) -> set[str]:
    """What `path` touches privately (comments aside), but for the private names it defines itself."""
    text = path.read_text()
    own = {"." + name for match in OWN.finditer(text) for name in match.groups() if name}
    code = "\n".join(line.split("#")[0] for line in text.splitlines())
    return {m.group(0) for m in PRIVATE_USE.finditer(code)} - own


def test_every_private_ray_or_optuna_api_used_in_tuning_is_listed():
    for path in sorted((ROOT / "tuning").rglob("*.py")):
        if path.name == "private_apis.py":
            continue
        unlisted = sorted(u for u in _private_uses(path) if not any(p in u for p in PRIVATE))
        assert unlisted == [], f"{path.name} uses {unlisted}: list them in tuning/private_apis.py with why"


def test_study_models_and_data_use_no_private_ray_or_optuna_api():
    for package in ("study", "models", "data"):
        for path in sorted((ROOT / package).rglob("*.py")):
            code = path.read_text()
            assert not re.search(r"\b(ray|optuna)(\.\w+)*\._[a-z]", code), path.relative_to(ROOT)


def test_ray_and_optuna_are_pinned_to_the_verified_ranges():
    pyproject = (ROOT / "pyproject.toml").read_text()  # tomllib is Python 3.11+; the project supports 3.10
    for name, (low, high) in VERIFIED.items():
        pins = re.findall(rf'^\s*"({name}\b[^"]*)",', pyproject, re.M)
        assert len(pins) == 1 and pins[0].endswith(f">={low},<{high}"), (name, pins)
