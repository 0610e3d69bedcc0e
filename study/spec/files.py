"""Where specs and base configs are found, and a spec file read with its named base config inlined."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from study.run.config import yaml_problem
from study.spec.definition import SpecError

SPECS_DIR = Path(__file__).parents[1] / "specs"  # study/specs/NAME.yaml
CONFIGS_DIR = Path(__file__).parents[1] / "configs"  # study/configs/NAME.yaml: base configs


def find_spec(name_or_path: str) -> Path:
    """The spec file of a name under study/specs/ or of a path; an unknown one is refused listing the shipped
    studies."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise SpecError(f"--study: no spec file {path}")
        return path
    named = SPECS_DIR / f"{name_or_path}.yaml"
    if not named.is_file():
        known = ", ".join(sorted(p.stem for p in SPECS_DIR.glob("*.yaml")))
        raise SpecError(f"--study: no study named {name_or_path!r}; the studies in {SPECS_DIR} are: {known}")
    return named


def read_spec(path: Path) -> dict[str, Any]:
    """The raw spec of a YAML file, with a named base config inlined (so a stored copy is self-contained)."""
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SpecError(f"spec {path} is not valid YAML: {yaml_problem(err)}") from err
    if not isinstance(raw, dict):
        raise SpecError(f"spec {path} must hold a mapping with keys such as name, base, space, objective")
    base = raw.get("base", {})
    if isinstance(base, str):
        raw["base"] = read_base(base, path.parent)
    return raw


def read_base(name: str, spec_dir: Path) -> dict[str, Any]:
    """A named base config: in study/configs/, next to the spec, or at the path given."""
    for candidate in (CONFIGS_DIR / name, spec_dir / name, Path(name)):
        if candidate.is_file():
            tree = yaml.safe_load(candidate.read_text()) or {}
            if not isinstance(tree, dict):
                raise SpecError(f"base: {candidate} must hold a config mapping (model/aux/train/data)")
            return tree
    shipped = ", ".join(sorted(p.name for p in CONFIGS_DIR.glob("*.yaml")))
    raise SpecError(
        f"base: no config file {name!r} in {CONFIGS_DIR} or {spec_dir}; the shipped configs: {shipped} "
        "(or give the config inline as a mapping)"
    )

