"""`python -m study.sweep`: a study (spec) searched with Ray Tune + Optuna, every trial logged to MLflow.

With no arguments it runs the default study on this machine (local Ray, MLflow in ./mlflow.db). A malformed spec
is refused before Ray starts (exit 2); an unreachable tracking server or missing data stops it before any trial
(exit 1). `--name SWEEP --resume` continues a sweep whose driver died. At the end it exports the best configs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from study.spec import SpecError, Study, load_study, parse_study
from study.sweep_dir import SWEEP_JSON, SweepInfo, find_sweep, sweep_path


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m study.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--study", default="default", help="a spec name under study/specs/ or a YAML path")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="fix one config key for every trial (a searched key leaves the space); repeatable",
    )  # fmt: skip
    parser.add_argument("--scale", help="a scale the spec defines, e.g. cpu: its downscaled variant (labelled so)")
    parser.add_argument("--name", help="sweep name (default: STUDY-DATE-TIME); with --resume, the sweep to continue")
    parser.add_argument("--trials", type=int, help="number of trials (default: the spec's)")
    parser.add_argument("--concurrency", type=int, help="at most this many trials at once (default: the spec's)")
    parser.add_argument("--address", help="Ray cluster to join ('auto': the running one); default: a local one")
    parser.add_argument("--tracking-uri", help="MLflow tracking URI (default: sqlite:///$PWD/mlflow.db)")
    parser.add_argument("--storage", help="trial checkpoints, shared by all nodes (path or URI); default SWEEP/ray")
    parser.add_argument("--sweeps-dir", default="sweeps", type=Path, help="where sweep directories live")
    parser.add_argument("--data-dir", help="dataset cache (default: $AUXLSTM_DATA_DIR or ~/.cache/auxlstm)")
    parser.add_argument("--top-k", type=int, default=3, help="configs exported at the end (default 3)")
    parser.add_argument("--resume", action="store_true", help="continue the sweep --name after its driver died")
    parser.add_argument("--smoke-test", action="store_true", help="3 trials of 1 epoch on 256 examples")
    parser.add_argument("--verbose", action="store_true", help="show the trials' own output")
    args = parser.parse_args(argv)
    if args.resume and not args.name:
        parser.error("--resume needs --name SWEEP")
    for flag in ("trials", "concurrency", "top_k"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1")
    return args


def _study_and_sweep(args: argparse.Namespace) -> tuple[Study, SweepInfo]:
    """The checked study and its sweep directory record (new, or the stored one on --resume)."""
    if args.resume:
        sweep = find_sweep(args.name, args.sweeps_dir)
        stored = sweep.data
        study = parse_study(stored["spec"], stored["overrides"], trials=stored["trials"], smoke=stored["smoke"])
        return study, sweep
    study = load_study(args.study, args.overrides, trials=args.trials, smoke=args.smoke_test, scale=args.scale)
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
    return study, SweepInfo(path, data)


def _prepare_data(study: Study, data_dir: Path) -> str:
    """Prepare every dataset the space can reach, here and once (not racing in every trial); their checksums."""
    from data import DATASETS, DatasetError
    from study.provenance import data_checksum

    names = {study.config_for({}).data.name}
    for param in study.space.params:
        if param.key == "data.name":
            names |= set(param.values)
    checksums = []
    for name in sorted(names):
        try:
            checksums.append(f"{name}:{data_checksum(study.config_for({'data.name': name}).data, data_dir)}")
        except DatasetError as err:
            stand_ins = [n for n, info in DATASETS.items() if info.stands_in_for == name]
            if not stand_ins:
                raise
            raise DatasetError(
                f"{err}\nWhere {name} cannot be had, its stand-in {stand_ins[0]} can take its place: "
                f"--set data.name={stand_ins[0]} for every trial, or a scale of the study that swaps it in "
                "(see the spec's scales)"
            ) from err
    return " ".join(checksums)


def main(argv: list[str] | None = None) -> int:
    from data import DatasetError, default_data_dir

    args = parse_args(argv)
    try:
        study, sweep = _study_and_sweep(args)
    except (SpecError, FileNotFoundError) as err:
        print(f"spec error: {err}", file=sys.stderr)
        return 2

    from study.provenance import git_commit, library_versions
    from tuning.tracking import Tracker, TrackingError, check_reachable, default_uri

    data = sweep.data
    uri = args.tracking_uri or data.get("tracking_uri") or default_uri(Path.cwd())
    try:
        check_reachable(uri)
    except TrackingError as err:
        print(f"tracking error: {err}", file=sys.stderr)
        return 1
    data_dir = default_data_dir(args.data_dir or data.get("data_dir")).resolve()
    try:
        checksum = data.get("data_checksum") or _prepare_data(study, data_dir)
    except DatasetError as err:
        print(f"data error: {err}", file=sys.stderr)
        return 1

    sweep.path.mkdir(parents=True, exist_ok=True)
    data.setdefault("storage", args.storage or str(sweep.path / "ray"))
    data.update(tracking_uri=uri, data_dir=str(data_dir), data_checksum=checksum)
    data.setdefault("git_commit", git_commit())
    data.setdefault("versions", library_versions())
    tags = {
        "auxlstm.study": study.name, "auxlstm.spec_hash": study.spec_hash, "auxlstm.git_commit": data["git_commit"],
        "auxlstm.data_checksum": checksum, "auxlstm.sweep": data["name"],
        **{f"auxlstm.version.{k}": v for k, v in data["versions"].items()},
    }  # fmt: skip
    tracker = Tracker(uri, experiment=f"auxlstm-{study.name}", sweep_id=data["sweep_id"], tags=tags)
    data["mlflow_parent_run_id"] = tracker.parent(
        data["name"], params=_sweep_params(study),
        tags={"auxlstm.command": data["command"], "mlflow.note.content": study.description},
    )  # fmt: skip
    sweep.save()
    print(f"sweep {data['name']}: study {study.name!r}, {study.trials} trials; files in {sweep.path}", flush=True)

    status = _run(study, sweep, tracker, args)
    tracker.end(data["mlflow_parent_run_id"], "FINISHED" if status == 0 else "FAILED")
    return status


def _sweep_params(study: Study) -> dict[str, Any]:
    params: dict[str, Any] = {
        "trials": study.trials,
        "concurrency": study.concurrency,
        "scheduler": study.scheduler.kind,
        "seed": study.seed,
        "objectives": json.dumps([[o.metric, o.mode] for o in study.objectives]),
        "resources": json.dumps(vars(study.resources)),
    }
    for p in study.space.params:
        domain = list(p.values) if p.kind == "choice" else [p.low, p.high] + (["log"] if p.log else [])
        params[f"space.{p.role}.{p.key}"] = json.dumps(domain)
    return params


def _run(study: Study, sweep: SweepInfo, tracker: Any, args: argparse.Namespace) -> int:
    from study.export import export
    from study.results import load_rows, pareto_front, rank
    from study.trials import TrialJob
    from tuning.tracking import ui_command
    from tuning.tune_sweep import SweepError, SweepPlan, run_sweep

    data = sweep.data
    plan = SweepPlan(
        name=data["name"], sweep_dir=sweep.path, storage=data["storage"], space=study.space,
        points=[dict(p) for p in study.points], objectives=[(o.metric, o.mode) for o in study.objectives],
        scheduler=study.scheduler.kind, grace_period=study.scheduler.grace_period,
        reduction_factor=study.scheduler.reduction_factor, max_supervised_epochs=study.max_supervised_epochs,
        trials=study.trials, concurrency=min(study.concurrency, args.concurrency or study.concurrency),
        cpus=study.resources.cpus, gpus=study.resources.gpus, workers=study.resources.workers, seed=study.seed,
        job=TrialJob(study=study, data_dir=data["data_dir"], sweep_dir=str(sweep.path)), tracker=tracker,
        cpu_fallback=data["smoke"],
    )  # fmt: skip
    started = time.perf_counter()
    try:
        run_sweep(plan, address=args.address, resume=args.resume, quiet=not args.verbose)
    except SweepError as err:
        print(f"sweep error: {err}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - started
    rows = load_rows(sweep.path) if (sweep.path / "results.json").exists() else []
    unfinished = study.trials - sum(r["status"] != "RUNNING" for r in rows)
    if unfinished > 0:  # stopped from outside (Ctrl-C): what ran is kept
        print(f"\nsweep {data['name']} stopped with {unfinished} of {study.trials} trials unfinished; continue it with")
        print(f"  python -m study.sweep --name {data['name']} --sweeps-dir {args.sweeps_dir} --resume")
        return 1
    summary = export(sweep, sweep.path / "export", top_k=args.top_k)
    trained = sum((r.get("metrics") or {}).get("run_seconds", 0.0) for r in rows)
    print(f"\nsweep {data['name']} finished in {wall:.0f} s; its trials trained for {trained:.0f} s in total")
    print("trials: " + ", ".join(f"{v} {k}" for k, v in summary["trials"].items() if v))
    metric, mode = study.objectives[0].metric, study.objectives[0].mode
    best = rank(rows, metric, mode)
    if best:
        row = best[0]
        m = row["metrics"]
        print(
            f"best trial {row['trial_id']} ({_params_text(row)}): {metric} {m[metric]:.4f}, "
            f"test accuracy {m.get('test_accuracy', float('nan')):.4f}, {m['epoch']} epochs; "
            f"MLflow run {row['mlflow_run_id']}"
        )
    else:
        print(f"no trial finished with a finite {metric}")
    if len(study.objectives) > 1:
        objectives = [(o.metric, o.mode) for o in study.objectives]
        front = pareto_front(rows, objectives)
        print(f"Pareto set ({', '.join(f'{m} {d}' for m, d in objectives)}): {len(front)} trial(s)")
        for row in front:
            values = ", ".join(f"{m} {row['metrics'][m]:.4g}" for m, _ in objectives)
            print(f"  {row['trial_id']} ({_params_text(row)}): {values}")
    print(f"sweep files: {sweep.path} (results.json, configs/, optuna.db)")
    print(f"exports: {sweep.path / 'export'} (summary.md, {len(summary['top'])} config(s))")
    print(f"MLflow UI: {ui_command(data['tracking_uri'])}   (experiment auxlstm-{study.name})")
    print(f"Optuna dashboard: optuna-dashboard sqlite:///{sweep.path / 'optuna.db'}")
    print(f"report: python -m study.report --sweep {sweep.path}")
    return 0 if best else 1


def _params_text(row: dict[str, Any]) -> str:
    from study.trials import summary

    return summary(row.get("params", {}))


if __name__ == "__main__":
    raise SystemExit(main())
