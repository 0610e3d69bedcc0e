"""`study.sweep`'s flags, each declared once with its role.

- `start-only`: it shapes what the sweep runs (the spec, its budget, data, memory limits, where its state lives),
  so it is kept in the sweep's `sweep.json`; given with `--resume` it is refused, never silently ignored.
- `resume-safe`: it means the same when a sweep starts and when it resumes (where to find things, how to show
  them, what to do after the search), so a resume may give it again or change it.

The parser holds these flags and no others; `--resume` refuses every start-only flag that differs from its
default, by construction. A flag added to the parser by hand has no role, and a test fails.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from study.results.sweep_dir import SWEEP_JSON, sweep_path

Role = Literal["start-only", "resume-safe"]
DEFAULT_STUDY = "default"


@dataclass(frozen=True)
class Flag:
    """One flag of `study.sweep`: its name, role, help, argparse options and a value that sets it."""

    name: str  # --flag
    role: Role
    help: str
    options: dict[str, Any] = field(default_factory=dict)  # argparse's keyword arguments besides `help`
    example: tuple[str, ...] = ()  # values that set it (for the docs and the tests of its role)


FLAGS: tuple[Flag, ...] = (
    Flag("--study", "start-only", f"a spec name under study/specs/ or a YAML path (default: {DEFAULT_STUDY})",
         example=("paper-mnist",)),
    Flag("--set", "start-only", "fix one config key for every trial (a searched key leaves the space); repeatable",
         {"dest": "overrides", "action": "append", "default": [], "metavar": "KEY=VALUE"}, ("train.lr=0.01",)),
    Flag("--scale", "start-only", "a scale the spec defines, e.g. cpu: its downscaled variant (labelled so)",
         example=("cpu",)),
    Flag("--name", "resume-safe", "sweep name (default: STUDY-DATE-TIME); with --resume, the sweep to continue",
         example=("other",)),
    Flag("--trials", "start-only", "number of trials (default: the spec's)", {"type": int}, ("3",)),
    Flag("--concurrency", "resume-safe", "at most this many trials at once (default: the spec's)", {"type": int},
         ("1",)),
    Flag("--address", "resume-safe", "Ray cluster to join ('auto': the running one); default: a local one",
         example=("auto",)),
    Flag("--tracking-uri", "resume-safe", "MLflow tracking URI (default: sqlite:///$PWD/mlflow.db)",
         example=("sqlite:///other.db",)),
    Flag("--storage", "start-only", "trial checkpoints, shared by all nodes (path or URI); default SWEEP/ray",
         example=("/shared/sweeps",)),
    Flag("--shared-storage", "start-only", "the --storage path is mounted at the same place on every node of the "
         "--address cluster (NFS, or a cluster of one node); without it a path there is refused",
         {"action": "store_true"}),
    Flag("--storage-endpoint", "start-only", "an S3-compatible server (MinIO, Ceph) for an s3:// --storage, given "
         "here once for every node: http(s)://HOST:PORT (default: $AWS_ENDPOINT_URL_S3 or $AWS_ENDPOINT_URL)",
         example=("http://10.0.0.1:9000",)),
    Flag("--sweeps-dir", "resume-safe", "where sweep directories live", {"default": Path("sweeps"), "type": Path},
         ("other-sweeps",)),
    Flag("--data-dir", "resume-safe", "dataset cache (default: $AUXLSTM_DATA_DIR or ~/.cache/auxlstm)",
         example=("data",)),
    Flag("--top-k", "resume-safe", "configs exported at the end (default 3)", {"type": int, "default": 3}, ("5",)),
    Flag("--resume", "resume-safe", "continue the sweep --name after its driver died", {"action": "store_true"}),
    Flag("--seeds", "resume-safe", "then re-run the --top-k best configurations until each has N seeds, and rank "
         "them by a confidence bound; with --name of a finished sweep, does that for it",
         {"type": int, "metavar": "N"}, ("3",)),
    Flag("--race", "resume-safe", "then race seeds: configurations earn another seed, up to N runs each, only while "
         "their confidence interval overlaps the best one's; rank them as --seeds does; with --name of a finished "
         "sweep, does that for it", {"type": int, "metavar": "N"}, ("3",)),
    Flag("--no-stand-ins", "start-only", "refuse a dataset that cannot be had instead of running its stand-in "
         "(CIFAR-10 -> Fashion-MNIST)", {"dest": "stand_ins", "action": "store_false"}),
    Flag("--warm-start", "start-only", "begin the Optuna study with the finished trials of these sweeps that fit "
         "this space", {"nargs": "+", "metavar": "SWEEP", "default": []}, ("earlier",)),
    Flag("--memory-budget-mb", "start-only", "skip trials whose predicted training peak is above this (default on "
         "GPU: the GPU's memory)", {"type": float, "metavar": "MB"}, ("1000",)),
    Flag("--memory-model", "start-only", "memory model file (default study/memory_models/DEVICE.json)",
         {"type": Path}, ("model.json",)),
    Flag("--smoke-test", "start-only", "3 trials of 1 epoch on 256 examples", {"action": "store_true"}),
    Flag("--verbose", "resume-safe", "show the trials' own output", {"action": "store_true"}),
    Flag("--no-report", "resume-safe", "do not write the report (SWEEP/report/report.md) at the end, nor log it to the "
         "MLflow parent run", {"dest": "report", "action": "store_false"}),
)  # fmt: skip


EPILOG = "[start-only]: kept in the sweep's sweep.json when it starts, and refused with --resume."


def build_parser(description: str) -> argparse.ArgumentParser:
    """The sweep's parser: the declared flags and no others, each start-only one marked so in --help."""
    parser = argparse.ArgumentParser(prog="python -m study.sweep", description=description, epilog=EPILOG)
    for flag in FLAGS:
        role = " [start-only]" if flag.role == "start-only" else ""
        parser.add_argument(flag.name, help=flag.help + role, **flag.options)
    return parser


def dest(flag: Flag) -> str:
    """The attribute of the parsed arguments that holds `flag`."""
    return flag.options.get("dest", flag.name.removeprefix("--").replace("-", "_"))


def given(parser: argparse.ArgumentParser, args: argparse.Namespace, role: Role) -> list[str]:
    """The flags of `role` the command line set (their value differs from the default)."""
    return [f.name for f in FLAGS if f.role == role and getattr(args, dest(f)) != parser.get_default(dest(f))]


def parse_args(argv: list[str] | None, description: str) -> argparse.Namespace:
    """The sweep's command line, checked: a resume refuses every start-only flag, counts are at least 1."""
    parser = build_parser(description)
    args = parser.parse_args(argv)
    if args.seeds and args.race:
        parser.error("--seeds and --race: choose one way to give configurations more seeds")
    if (args.seeds or args.race) and args.name and (sweep_path(args.name, args.sweeps_dir) / SWEEP_JSON).exists():
        args.resume = True  # more seeds for an existing sweep
    if args.resume:  # the sweep's own sweep.json says what it runs
        start_only = given(parser, args, "start-only")
        if start_only:
            parser.error(f"{', '.join(start_only)}: set when a sweep starts; sweep {args.name} keeps its own")
        if not args.name:
            parser.error("--resume needs --name SWEEP")
    if args.memory_budget_mb is not None and args.memory_budget_mb <= 0:
        parser.error(f"--memory-budget-mb must be above 0, got {args.memory_budget_mb:g}")
    if args.race is not None and args.race < 2:
        parser.error(f"--race must be at least 2 runs per configuration, got {args.race}")
    for flag in ("trials", "concurrency", "top_k", "seeds"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    args.study = args.study or DEFAULT_STUDY
    return args
