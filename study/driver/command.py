"""The sweep from its command line to its summary: checks before anything starts, the MLflow parent run, the phases
on Ray Tune, what MLflow missed, the export and the summary.

Exit codes: 2 for input refused before anything ran (a spec, a flag, a memory model), 1 for what stopped the
sweep (an unreachable tracking server or cluster, missing data, a sweep error, trials left unfinished, or no trial
with a finite objective), 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from study.driver.placement import ship_datasets, state_refusal, storage_of
from study.driver.record import open_sweep
from study.driver.setup import MemorySetup, memory_setup, prepare_data, warm_start, with_stand_ins
from study.results.sweep_dir import SweepInfo
from study.spec.definition import SpecError, Study


class Stop(Exception):
    """The sweep cannot go on: exit with `code`, saying `message` on stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Prepared:
    """Everything checked before the sweep touches MLflow or Ray."""

    study: Study
    sweep: SweepInfo
    memory: MemorySetup
    warm: Any  # tuning.warm_start.WarmStart, or None
    tracking_uri: str
    data_dir: Path


def sweep_command(args: argparse.Namespace) -> int:
    """Run (or resume) the sweep the checked command line asks for; the exit code."""
    try:
        prepared = prepare(args)
    except Stop as stop:
        print(stop, file=sys.stderr)
        return stop.code
    tracker = start(prepared, args)
    status = run(prepared, tracker, args)
    try:
        tracker.end(prepared.sweep.data["mlflow_parent_run_id"], "FINISHED" if status == 0 else "FAILED")
    except Exception as err:  # MLflow's or the network's: the trials' runs are what matters, and were sent
        print(f"sweep: could not close the MLflow parent run ({err})", file=sys.stderr)
    return status


def prepare(args: argparse.Namespace) -> Prepared:
    """The study, its record, memory model, tracking store, cluster, data and warm start, each checked in turn."""
    from data import DatasetError, default_data_dir
    from tuning.cluster import ClusterError, check_address
    from tuning.tracking import TrackingError, check_reachable, default_uri

    try:
        study, sweep = open_sweep(args)
        joins = (args.address or os.environ.get("RAY_ADDRESS") or "local") != "local"
        memory = memory_setup(study, sweep.data, args.memory_model, args.memory_budget_mb, joins_cluster=joins)
    except (SpecError, FileNotFoundError) as err:
        raise Stop(2, f"spec error: {err}") from err
    data = sweep.data
    check_storage_reach(args, sweep)  # before dialling anything, and before Ray
    refused = state_refusal(args, data)
    if refused:
        raise Stop(2, f"state error: {refused}")
    uri = args.tracking_uri or data.get("tracking_uri") or default_uri(Path.cwd())
    try:
        check_reachable(uri)
        check_address(args.address)
    except TrackingError as err:
        raise Stop(1, f"tracking error: {err}") from err
    except ClusterError as err:
        raise Stop(1, f"cluster error: {err}") from err
    data_dir = default_data_dir(args.data_dir or data.get("data_dir")).resolve()
    if not data.get("data_checksum"):
        try:
            data["data_checksum"], swaps = prepare_data(study, data_dir, stand_ins=args.stand_ins)
        except DatasetError as err:
            raise Stop(1, f"data error: {err}") from err
        if swaps:
            try:
                study = with_stand_ins(study, data, swaps)
            except SpecError as err:
                raise Stop(2, f"spec error: with {', '.join(swaps.values())} standing in: {err}") from err
    try:
        store = ship_datasets(data["data_checksum"], data_dir, storage_of(args, data, str(sweep.path / "ray")))
    except (OSError, DatasetError) as err:  # pyarrow's, for a bucket this driver cannot write
        raise Stop(1, f"storage error: the datasets could not be shipped to the storage: {err}") from err
    if store is not None:
        data["data_store"] = store.uri
    warm = None
    if args.warm_start:  # after any stand-in swap: the trials must fit the space as it will run
        try:
            warm = warm_start(study, sweep, args.warm_start, args.sweeps_dir)
        except (SpecError, FileNotFoundError) as err:
            raise Stop(2, f"spec error: {err}") from err
    return Prepared(study, sweep, memory, warm, uri, data_dir)


def check_storage_reach(args: argparse.Namespace, sweep: SweepInfo) -> None:
    """A node-local storage for a cluster the sweep joins is refused (exit 2); a resumed sweep keeps its own."""
    from tuning.cluster import StorageError, check_storage
    from tuning.storage import StorageURIError

    data = sweep.data
    storage = storage_of(args, data, str(sweep.path / "ray"))
    try:
        storage.check()
        check_storage(storage.uri, args.address, shared=args.shared_storage or bool(data.get("shared_storage")))
    except (StorageError, StorageURIError) as err:
        kept = f" (sweep {data['name']} keeps the storage it started with)" if args.resume else ""
        raise Stop(2, f"storage error: {err}{kept}") from err


def start(prepared: Prepared, args: argparse.Namespace) -> Any:
    """The sweep directory, its record saved, the warm-start trials in its Optuna study and its MLflow parent run
    (found again on --resume); returns the tracker."""
    from study.run.provenance import git_commit, library_versions
    from tuning.naming import experiment_name, provenance_tags, sweep_run_name, sweep_tags
    from tuning.tracking import Tracker

    study, sweep, data = prepared.study, prepared.sweep, prepared.sweep.data
    sweep.path.mkdir(parents=True, exist_ok=True)
    if prepared.warm is not None:
        from tuning.warm_start import seed_study

        seed_study(sweep.path, data["name"], [o.mode for o in study.objectives], prepared.warm.trials)
        data["warm_start"] = {"from": args.warm_start, "trials": len(prepared.warm.trials),
                              "skipped": len(prepared.warm.skipped)}  # fmt: skip
    storage = storage_of(args, data, str(sweep.path / "ray"))
    data.setdefault("storage", storage.uri)
    if storage.endpoint:
        data.setdefault("storage_endpoint", storage.endpoint)
    if args.shared_storage:  # the user's word that every node mounts it: kept for --resume
        data["shared_storage"] = True
    data.update(tracking_uri=prepared.tracking_uri, data_dir=str(prepared.data_dir))
    data.setdefault("git_commit", git_commit())
    data.setdefault("versions", library_versions())
    tags = provenance_tags(
        study=study.name, sweep=data["name"], spec_hash=study.spec_hash, git_commit=data["git_commit"],
        data_checksum=data["data_checksum"], stand_ins=data.get("stand_ins"), versions=data["versions"],
    )  # fmt: skip
    experiment = experiment_name(study.name)
    tracker = Tracker(data["tracking_uri"], experiment=experiment, sweep_id=data["sweep_id"], tags=tags)
    data["mlflow_parent_run_id"] = tracker.parent(
        sweep_run_name(data["name"]), params=sweep_params(study), tags=sweep_tags(data["command"], study.description)
    )
    data["mlflow_experiment_id"] = tracker.experiment_id
    sweep.save()
    print(f"sweep {data['name']}: study {study.name!r}, {study.trials} trials; files in {sweep.path}", flush=True)
    return tracker


def sweep_params(study: Study) -> dict[str, Any]:
    """The parent run's params: the budget, scheduler, objectives, resources and every searched domain."""
    params: dict[str, Any] = {
        "trials": study.trials,
        "concurrency": study.concurrency,
        "scheduler": study.scheduler.kind,
        "seed": study.seed,
        "objectives": json.dumps([[o.metric, o.mode] for o in study.objectives]),
        "resources": json.dumps(vars(study.resources)),
    }
    for p in study.space.params:
        params[f"space.{p.role}.{p.key}"] = p.domain()
    return params


def run(prepared: Prepared, tracker: Any, args: argparse.Namespace) -> int:
    """The phases, then what MLflow missed, the export, the report, the parent run's metrics and files, and the
    summary (or how to resume what is unfinished)."""
    from study.driver.parent import log_parent, sweep_claims, write_sweep_report
    from study.driver.phases import plan_for, run_phases, sweep_rows, unfinished
    from study.driver.summary import print_summary
    from study.results.export import export
    from tuning.mlflow_sync import send_kept
    from tuning.redact import redact
    from tuning.tune_sweep import SweepError

    study, sweep, data = prepared.study, prepared.sweep, prepared.sweep.data
    plan = plan_for(study, sweep, tracker, prepared.memory, args.concurrency)
    started = time.perf_counter()
    try:
        run_phases(plan, study, sweep, address=args.address, resume=args.resume, quiet=not args.verbose)
    except SweepError as err:
        print(f"sweep error: {err}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - started
    data["wall_seconds"] = data.get("wall_seconds", 0.0) + wall  # every session of a resumed sweep
    sweep.save()
    waiting = send_kept(tracker, plan.job.describe, plan.job.results_table()) if sweep_rows(sweep) else 0
    if waiting:
        print(f"sweep: MLflow at {redact(data['tracking_uri'])} still does not answer; {waiting} trial(s) it lacks "
              f"wait in results.json, sent by `python -m study.sweep --name {data['name']} --resume`",
              flush=True)  # fmt: skip
    rows = sweep_rows(sweep)
    left = unfinished(study, sweep, rows)
    if left:  # stopped from outside (Ctrl-C): what ran is kept
        what = f"{left.searches} of {study.trials} trials" if left.searches else f"{left.reruns} seed re-run(s)"
        print(f"\nsweep {data['name']} stopped with {what} unfinished; continue it with")
        print(f"  python -m study.sweep --name {data['name']} --sweeps-dir {args.sweeps_dir} --resume")
        return 1
    summary = export(sweep, sweep.path / "export", top_k=args.top_k)
    report = write_sweep_report(sweep) if args.report else []
    objectives = [(o.metric, o.mode) for o in study.objectives]
    claims = sweep_claims(rows, objectives)
    logged = not waiting and log_parent(tracker, sweep, objectives, rows, report, summary, claims)  # not when down
    return 0 if print_summary(study, sweep, rows, summary, wall, report=report[0] if report else None,
                              claims=claims, logged=logged) else 1  # fmt: skip
