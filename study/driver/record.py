"""A sweep's record before anything runs: the checked study and its `sweep.json`, new or stored by a sweep that
is resumed (which rebuilds its study from the record, never from the command line)."""

from __future__ import annotations

import argparse
import sys
import time
import uuid

from study.results.sweep_dir import SWEEP_JSON, SweepInfo, find_sweep, sweep_path
from study.spec.definition import SpecError, Study
from study.spec.parse import load_study, parse_study


def open_sweep(args: argparse.Namespace) -> tuple[Study, SweepInfo]:
    """The checked study and its sweep directory record (new, or the stored one on --resume)."""
    if args.resume:
        sweep = find_sweep(args.name, args.sweeps_dir)
        stored = sweep.data
        if args.seeds:  # the latest request: more seeds by a fixed top-k, or by a race
            stored["seeds"] = {"seeds": args.seeds, "top_k": args.top_k}
            stored.pop("race", None)
        if args.race:
            stored["race"] = {**stored.get("race", {}), "seeds": args.race, "top_k": args.top_k}
            stored.pop("seeds", None)
        return stored_study(sweep), sweep
    study = load_study(args.study, args.overrides, trials=args.trials, smoke=args.smoke_test, scale=args.scale)
    for source in args.warm_start:  # refused here, before the data and tracking checks
        find_sweep(source, args.sweeps_dir)
    name = args.name or f"{study.name}-{time.strftime('%Y%m%d-%H%M%S')}"
    if not all(c.isalnum() or c in "-_." for c in name):
        raise SpecError(f"--name: use letters, digits, '-', '_' and '.', got {name!r}")
    path = sweep_path(name, args.sweeps_dir)
    if (path / SWEEP_JSON).exists():
        raise SpecError(f"--name: a sweep {name!r} exists at {path}; add --resume to continue it, or pick a new name")
    data = {
        "name": name,
        "sweep_id": uuid.uuid4().hex,
        "study": study.name,
        "spec": study.raw,
        "overrides": list(args.overrides),
        "trials": args.trials,
        "smoke": args.smoke_test,
        "objectives": [{"metric": o.metric, "mode": o.mode} for o in study.objectives],
        "command": " ".join(["python", "-m", "study.sweep", *sys.argv[1:]]),
    }
    if args.seeds:
        data["seeds"] = {"seeds": args.seeds, "top_k": args.top_k}
    if args.race:
        data["race"] = {"seeds": args.race, "top_k": args.top_k}
    return study, SweepInfo(path, data)


def stored_study(sweep: SweepInfo) -> Study:
    """The study a sweep's record rebuilds: its stored spec (scaled, stand-ins swapped), CLI changes and budget."""
    stored = sweep.data
    return parse_study(stored["spec"], stored["overrides"], trials=stored["trials"], smoke=stored["smoke"])
