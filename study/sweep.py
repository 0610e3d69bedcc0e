"""`python -m study.sweep`: a study (spec) searched with Ray Tune + Optuna, every trial logged to MLflow.

With no arguments it runs the default study on this machine (local Ray, MLflow in ./mlflow.db). A malformed spec
is refused before Ray starts (exit 2); an unreachable tracking server or missing data stops it before any trial
(exit 1). `--name SWEEP --resume` continues a sweep whose driver died. At the end it exports the best configs.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from study.spec import SpecError, Study, is_rerun, load_study, parse_study
from study.sweep_dir import SWEEP_JSON, SweepInfo, find_sweep, sweep_path
from study.sweep_setup import memory_setup, prepare_data, warm_start, with_stand_ins


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
    parser.add_argument(
        "--seeds", type=int, metavar="N",
        help="then re-run the --top-k best configurations until each has N seeds, and rank them by a confidence "
        "bound; with --name of a finished sweep, does that for it",
    )  # fmt: skip
    parser.add_argument(
        "--no-stand-ins", dest="stand_ins", action="store_false",
        help="refuse a dataset that cannot be had instead of running its stand-in (CIFAR-10 -> Fashion-MNIST)",
    )  # fmt: skip
    parser.add_argument(
        "--warm-start", nargs="+", metavar="SWEEP", default=[],
        help="begin the Optuna study with the finished trials of these sweeps that fit this space",
    )  # fmt: skip
    parser.add_argument(
        "--memory-budget-mb", type=float, metavar="MB",
        help="skip trials whose predicted training peak is above this (default on GPU: the GPU's memory)",
    )  # fmt: skip
    parser.add_argument("--memory-model", type=Path, help="memory model file (default study/memory_models/DEVICE.json)")
    parser.add_argument("--smoke-test", action="store_true", help="3 trials of 1 epoch on 256 examples")
    parser.add_argument("--verbose", action="store_true", help="show the trials' own output")
    args = parser.parse_args(argv)
    if args.seeds and args.name and (sweep_path(args.name, args.sweeps_dir) / SWEEP_JSON).exists():
        args.resume = True  # more seeds for an existing sweep
    if args.resume:  # the sweep's own sweep.json says what it runs
        given = [flag for flag, value in (("--set", args.overrides), ("--scale", args.scale), ("--trials", args.trials),
                 ("--smoke-test", args.smoke_test), ("--memory-budget-mb", args.memory_budget_mb),
                 ("--memory-model", args.memory_model), ("--warm-start", args.warm_start)) if value]  # fmt: skip
        if given:
            parser.error(f"{', '.join(given)}: set when a sweep starts; sweep {args.name} keeps its own")
    if args.resume and not args.name:
        parser.error("--resume needs --name SWEEP")
    if args.memory_budget_mb is not None and args.memory_budget_mb <= 0:
        parser.error(f"--memory-budget-mb must be above 0, got {args.memory_budget_mb:g}")
    for flag in ("trials", "concurrency", "top_k", "seeds"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            parser.error(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)}")
    return args


def _study_and_sweep(args: argparse.Namespace) -> tuple[Study, SweepInfo]:
    """The checked study and its sweep directory record (new, or the stored one on --resume)."""
    if args.resume:
        sweep = find_sweep(args.name, args.sweeps_dir)
        stored = sweep.data
        if args.seeds:
            stored["seeds"] = {"seeds": args.seeds, "top_k": args.top_k}
        study = parse_study(stored["spec"], stored["overrides"], trials=stored["trials"], smoke=stored["smoke"])
        return study, sweep
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
    return study, SweepInfo(path, data)


def main(argv: list[str] | None = None) -> int:
    from data import DatasetError, default_data_dir

    args = parse_args(argv)
    try:
        study, sweep = _study_and_sweep(args)
    except (SpecError, FileNotFoundError) as err:
        print(f"spec error: {err}", file=sys.stderr)
        return 2

    try:
        memory = memory_setup(study, sweep.data, args)
    except SpecError as err:
        print(f"spec error: {err}", file=sys.stderr)
        return 2

    from study.provenance import git_commit, library_versions
    from tuning.cluster import ClusterError, check_address
    from tuning.tracking import Tracker, TrackingError, check_reachable, default_uri

    data = sweep.data
    uri = args.tracking_uri or data.get("tracking_uri") or default_uri(Path.cwd())
    try:
        check_reachable(uri)
    except TrackingError as err:
        print(f"tracking error: {err}", file=sys.stderr)
        return 1
    try:
        check_address(args.address)
    except ClusterError as err:
        print(f"cluster error: {err}", file=sys.stderr)
        return 1
    data_dir = default_data_dir(args.data_dir or data.get("data_dir")).resolve()
    if not data.get("data_checksum"):
        try:
            data["data_checksum"], swaps = prepare_data(study, data_dir, stand_ins=args.stand_ins)
        except DatasetError as err:
            print(f"data error: {err}", file=sys.stderr)
            return 1
        if swaps:
            try:
                study = with_stand_ins(study, data, swaps)
            except SpecError as err:
                print(f"spec error: with {', '.join(swaps.values())} standing in: {err}", file=sys.stderr)
                return 2
    checksum = data["data_checksum"]
    warm = None
    if args.warm_start:  # after any stand-in swap: the trials must fit the space as it will run
        try:
            warm = warm_start(study, sweep, args)
        except (SpecError, FileNotFoundError) as err:
            print(f"spec error: {err}", file=sys.stderr)
            return 2

    sweep.path.mkdir(parents=True, exist_ok=True)
    if warm is not None:
        from tuning.warm_start import seed_study

        seed_study(sweep.path, data["name"], [o.mode for o in study.objectives], warm.trials)
        data["warm_start"] = {"from": args.warm_start, "trials": len(warm.trials), "skipped": len(warm.skipped)}
    data.setdefault("storage", args.storage or str(sweep.path / "ray"))
    data.update(tracking_uri=uri, data_dir=str(data_dir))
    data.setdefault("git_commit", git_commit())
    data.setdefault("versions", library_versions())
    tags = {
        "auxlstm.study": study.name, "auxlstm.spec_hash": study.spec_hash, "auxlstm.git_commit": data["git_commit"],
        "auxlstm.data_checksum": checksum, "auxlstm.sweep": data["name"],
        **({"auxlstm.stand_ins": json.dumps(data["stand_ins"])} if data.get("stand_ins") else {}),
        **{f"auxlstm.version.{k}": v for k, v in data["versions"].items()},
    }  # fmt: skip
    tracker = Tracker(uri, experiment=f"auxlstm-{study.name}", sweep_id=data["sweep_id"], tags=tags)
    data["mlflow_parent_run_id"] = tracker.parent(
        data["name"], params=_sweep_params(study),
        tags={"auxlstm.command": data["command"], "mlflow.note.content": study.description},
    )  # fmt: skip
    sweep.save()
    print(f"sweep {data['name']}: study {study.name!r}, {study.trials} trials; files in {sweep.path}", flush=True)

    status = _run(study, sweep, tracker, args, memory)
    try:
        tracker.end(data["mlflow_parent_run_id"], "FINISHED" if status == 0 else "FAILED")
    except Exception as err:  # MLflow's or the network's: the trials' runs are what matters, and were sent
        print(f"sweep: could not close the MLflow parent run ({err})", file=sys.stderr)
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


def _run(study: Study, sweep: SweepInfo, tracker: Any, args: argparse.Namespace, memory: tuple) -> int:
    from study.export import export
    from study.results import pareto_front, rank
    from study.robust import seed_points
    from study.trials import TrialJob
    from tuning.mlflow_sync import send_kept
    from tuning.redact import redact
    from tuning.tracking import ui_command
    from tuning.tune_sweep import SweepError, SweepPlan, run_sweep

    data = sweep.data
    plan = SweepPlan(
        name=data["name"], sweep_dir=sweep.path, storage=data["storage"], space=study.space,
        points=[dict(p) for p in study.points], objectives=[(o.metric, o.mode) for o in study.objectives],
        scheduler=study.scheduler.kind, grace_period=study.scheduler.grace_period,
        reduction_factor=study.scheduler.reduction_factor, max_supervised_epochs=study.max_supervised_epochs,
        trials=study.trials, concurrency=min(study.concurrency, args.concurrency or study.concurrency),
        cpus=study.resources.cpus, gpus=study.resources.gpus, workers=study.max_workers, seed=study.seed,
        job=TrialJob(study=study, data_dir=data["data_dir"], sweep_dir=str(sweep.path), memory_model=memory[0],
                     memory_budget_mb=memory[1]),
        tracker=tracker,
        cpu_fallback=data["smoke"], exact_points=study.exact_points,
    )  # fmt: skip
    started = time.perf_counter()
    metric, mode = study.objectives[0].metric, study.objectives[0].mode
    try:
        if _searches_left(study, sweep, _rows(sweep)) or not args.resume:
            run_sweep(plan, address=args.address, resume=args.resume, quiet=not args.verbose)
        seeds = data.get("seeds")
        rows = _rows(sweep)
        if seeds and not _searches_left(study, sweep, rows):
            points = seed_points(rows, metric, mode, top_k=seeds["top_k"], seeds=seeds["seeds"])
            if points:
                print(f"sweep: the best {seeds['top_k']} configuration(s) again, to {seeds['seeds']} seeds each: "
                      f"{len(points)} trial(s)", flush=True)  # fmt: skip
                # One Tune experiment per set of re-runs: --resume continues it; a later request (more seeds, or
                # again after a re-run failed) runs only what is missing, in a new one.
                digest = hashlib.sha256(json.dumps(points, sort_keys=True).encode()).hexdigest()[:8]
                seeded = dataclasses.replace(
                    plan, name=f"{data['name']}-seeds-{digest}", points=points,
                    trials=len(points), fixed=True,
                    earlier_trials=len(rows),
                )  # fmt: skip
                run_sweep(seeded, address=args.address, resume=args.resume, quiet=not args.verbose)
    except SweepError as err:
        print(f"sweep error: {err}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - started
    if rows:
        waiting = send_kept(tracker, plan.job.describe, plan.job.results_table())
        if waiting:
            print(f"sweep: MLflow at {redact(data['tracking_uri'])} still does not answer; {waiting} trial(s) it "
                  f"lacks wait in results.json, sent by `python -m study.sweep --name {data['name']} --resume`",
                  flush=True)  # fmt: skip
    rows = _rows(sweep)
    unfinished, reruns = _unfinished(study, sweep, rows)
    if unfinished > 0 or reruns:  # stopped from outside (Ctrl-C): what ran is kept
        left = f"{unfinished} of {study.trials} trials" if unfinished else f"{reruns} seed re-run(s)"
        print(f"\nsweep {data['name']} stopped with {left} unfinished; continue it with")
        print(f"  python -m study.sweep --name {data['name']} --sweeps-dir {args.sweeps_dir} --resume")
        return 1
    summary = export(sweep, sweep.path / "export", top_k=args.top_k)
    trained = sum((r.get("metrics") or {}).get("run_seconds", 0.0) for r in rows)
    print(f"\nsweep {data['name']} finished in {wall:.0f} s; its trials trained for {trained:.0f} s in total")
    print("trials: " + ", ".join(f"{v} {k}" for k, v in summary["trials"].items() if v))
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
    if summary["ranked_by"] == "seed bound":
        print(f"seed-robust ranking by the one-sided 95 % {'lower' if mode == 'max' else 'upper'} bound of {metric}:")
        for e in (e for e in summary["top"] if "seeds" in e):
            print(f"  {e['trial_id']} ({_params_text({'params': e['params']})}): mean {e['mean']:.4f}, "
                  f"std {e['std']:.4f}, bound {e['bound']:.4f}, {e['seeds']} seeds")  # fmt: skip
    _print_memory(rows)
    print(f"sweep files: {sweep.path} (results.json, configs/, optuna.db)")
    print(f"exports: {sweep.path / 'export'} (summary.md, {len(summary['top'])} config(s))")
    print(f"MLflow UI: {ui_command(data['tracking_uri'])}   (experiment auxlstm-{study.name})")
    print(f"Optuna dashboard: optuna-dashboard sqlite:///{sweep.path / 'optuna.db'}")
    print(f"report: python -m study.report --sweep {sweep.path}")
    return 0 if best else 1


def _print_memory(rows: list[dict[str, Any]]) -> None:
    """The trials pruned by the memory budget, and the model's predicted training peaks against the measured."""
    from study.results import memory_checks

    for row in rows:
        if row["status"] == "PRUNED":
            print(f"pruned before it started: {row['trial_id']} ({_params_text(row)}): {row['reason']}")
    # A CPU run can show no resident-set rise.
    compared = [check for check in memory_checks(rows) if check[3] > 0]
    if compared:
        errors = sorted(abs(predicted - measured) / measured for _, predicted, _, measured in compared)
        within = sum(abs(predicted - measured) <= error for _, predicted, error, measured in compared)
        print(f"memory model: {within} of {len(compared)} training peaks within the stated error of their prediction; "
              f"median error {errors[len(errors) // 2]:.0%}, largest {errors[-1]:.0%} (per trial in the report)")
        for row, predicted, error, measured in compared:
            if abs(predicted - measured) > error:
                print(f"  outside: {row['trial_id']} predicted {predicted:,.0f} ± {error:,.0f} MB, measured "
                      f"{measured:,.0f} MB")


def _rows(sweep: SweepInfo) -> list[dict[str, Any]]:
    from study.results import RESULTS, load_rows

    return load_rows(sweep.path) if (sweep.path / RESULTS).exists() else []


def _searches_left(study: Study, sweep: SweepInfo, rows: list[dict[str, Any]]) -> int:
    """The search's trials not yet run to an end."""
    from study.results import ENDED
    from tuning.tune_sweep import SEARCH_ENDED

    if (sweep.path / SEARCH_ENDED).exists():
        return 0
    searched = [r for r in rows if not is_rerun(r)]
    # A study of exact points does not replace a point the memory budget refused.
    ended = ENDED + (("PRUNED",) if study.exact_points else ())
    return max(0, study.trials - sum(r["status"] in ended for r in searched))


def _unfinished(study: Study, sweep: SweepInfo, rows: list[dict[str, Any]] | None = None) -> tuple[int, int]:
    """The search's trials not yet run to an end, and the requested seed re-runs not yet run to an end."""
    from study.results import ENDED
    from study.robust import seed_points

    rows = _rows(sweep) if rows is None else rows
    left, seeds = _searches_left(study, sweep, rows), sweep.data.get("seeds")
    if left or not seeds:
        return left, 0
    objective = study.objectives[0]
    reruns = seed_points(rows, objective.metric, objective.mode, top_k=seeds["top_k"], seeds=seeds["seeds"], done=ENDED)
    return 0, len(reruns)


def _params_text(row: dict[str, Any]) -> str:
    from study.trials import summary

    return summary(row.get("params", {}))


if __name__ == "__main__":
    raise SystemExit(main())
