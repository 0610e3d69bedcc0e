"""Ray Tune + Optuna: a sweep's trials, searched by seeded TPE, stopped early by ASHA, resumable.

The sweep entry point (`study.sweep`) hands in a `SweepPlan`: the define-by-run space, the first points, the
objectives, the budget, and a `job` that turns sampled values into a config and runs it (`study.driver.job`).
tuning/ does not import study/.

- The number of workers may differ between trials (`job.workers(params)`, e.g. a searched
  `resources.workers`); Tune reserves each trial's resources from its own sampled values.
- A one-worker trial runs the job inside the trial function (a TorchTrainer per trial would cost ~15 s of
  start-up on 2 cores); a trial with several workers starts a Ray Train run from the trial function with
  `TuneReportCallback`, reserving 1 CPU for itself plus its workers' resources.
- Every epoch a trial reports its metrics with a checkpoint, so a restored trial continues from its last epoch.
  ASHA keys on `supervised_epoch`, an explicit count (Tune's `training_iteration` restarts at 1 after a
  restore, and pretraining epochs have no supervised signal to compare).
- A trial whose loss or objective stops being finite, or that runs out of memory (an allocation fails, or its
  measured peak goes over the sweep's memory budget), fails with the reason and is not retried: a retry would
  fail the same way. Any other crash is retried from the last checkpoint (the one before if that is damaged).
"""

from __future__ import annotations

import dataclasses
import functools
import math
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import optuna
import pyarrow.fs
import ray
import torch
from ray import tune
from ray.tune import PlacementGroupFactory
from ray.tune.search import Searcher
from ray.tune.search.optuna import OptunaSearch

from tuning import failure_feedback as feedback
from tuning.cluster import ClusterError, init_ray
from tuning.optuna_storage import storage_url
from tuning.recorder import POINT, SweepRecorder, active_recorder, finite, trial_params
from tuning.restore import CHECKPOINT, restore_readable
from tuning.resumable_asha import ASHA_STATE, ResumableASHA
from tuning.resumable_asha import forget as forget_rungs
from tuning.storage import Storage
from tuning.tracking import Tracker
from tuning.tune_state import BACKUP, repair
from tuning.warm_start import searched_trials

MAX_REFUSED = 50  # suggestions refused in a row before the search ends: the space hardly fits the budget
SEARCH_ENDED = "search-ended.txt"  # in the sweep directory: the search gave up before its trials were all run
DIVERGED = "diverged.txt"
OUT_OF_MEMORY = "out-of-memory.txt"
MEMORY_FIX = "lower model.d_hidden / data.batch_size or set --memory-budget-mb"


class SweepError(RuntimeError):
    """The sweep cannot start on this cluster; the message says why."""


class TrialDiverged(RuntimeError):
    """A trial's loss or objective became NaN or infinite."""


class TrialOutOfMemory(RuntimeError):
    """A trial's allocation failed, or its measured peak memory went over the sweep's memory budget."""


# A failure a retry would repeat leaves its reason in the trial directory; Tune's retry then fails at once with it.
NOT_RETRIED = {DIVERGED: TrialDiverged, OUT_OF_MEMORY: TrialOutOfMemory}


@dataclasses.dataclass(frozen=True)
class SweepPlan:
    name: str  # the sweep's name: Tune experiment and Optuna study
    sweep_dir: Path  # local: results table, Optuna storage
    storage: str  # where Tune and Train keep trial state and checkpoints (a path or URI every node reaches)
    space: Any  # define-by-run: called with an Optuna trial, suggests the dotted config keys
    points: list[dict[str, Any]]  # evaluated first (flat suggest names)
    objectives: list[tuple[str, str]]  # (metric, "max" | "min")
    scheduler: str  # "asha" | "fifo"
    grace_period: int
    reduction_factor: int
    max_supervised_epochs: int
    trials: int
    concurrency: int
    cpus: float  # per worker
    gpus: float  # per worker
    workers: int  # the most any trial uses (a trial's own: job.workers(params))
    seed: int
    job: Any  # .resolve(params) -> config, .workers(params), .run(config, data_dir, out, **hooks), .describe(...)
    tracker: Tracker
    max_trial_failures: int = 1  # restarts of a crashed trial from its last checkpoint
    fixed: bool = False  # run exactly `points` (seed re-runs), without Optuna or early stopping
    earlier_trials: int = 0  # trials an earlier phase of this sweep left in its results table (for progress lines)
    exact_points: bool = False  # the points and nothing else: a refused point is not replaced by a sampled one
    cpu_fallback: bool = False  # a smoke test: a GPU study runs on CPU where the cluster has no GPU
    storage_endpoint: str | None = None  # an S3-compatible server's http(s)://HOST:PORT (tuning.storage)
    placement: str = "PACK"  # Ray's placement strategy for a trial's Ray Train workers


class SweepSearch(OptunaSearch):
    """OptunaSearch that keeps Optuna's storage in step with Tune's trials, including across a killed driver.

    - A trial that ran out of memory, went over the memory budget or diverged (a non-finite objective included) is
      told to Optuna as PRUNED with its constraint violations, so that TPE learns the infeasible region
      (`tuning.failure_feedback`); any other failure is FAIL. `teach_failures = False` tells them all FAIL.
    - A suggestion the job refuses before it starts (`job.refuse(params)`: predicted over the memory budget) is
      told to Optuna as PRUNED with the reason and its predicted overshoot as a constraint violation, recorded by
      the sweep's recorder, and replaced by a new one.
    - Tune saves the sweep state (searcher included) after each step, Optuna's storage on every call; a driver
      killed in between leaves the storage ahead. On resume, a result for a trial Optuna already finished is
      ignored, and a trial Optuna started for a suggestion the saved state lost is handed to the next new Tune
      trial, so both hold the same trials.
    """

    refuse: Any = None  # params -> reason or None (set by `_searcher`)
    job: Any = None  # the trial job: its memory budget and predictions (set by `_searcher`)
    teach_failures = True
    # A trial the scheduler stopped before `max_epochs` supervised epochs is told PRUNED (its reported epochs kept
    # as intermediate values), which TPE ranks below every finished trial, instead of COMPLETE with an early value.
    stopped_as_pruned = False
    max_epochs: int | None = None
    limit: int | None = None  # suggestions in all, refused ones included (a study of exact points)
    suggested = 0
    ended_file: Path | None = None  # where giving up is recorded, so the sweep counts as done

    def restore(self, checkpoint_path: str) -> None:
        super().restore(checkpoint_path)
        known = {t.number for t in self._ot_trials.values()}
        running = self._ot_study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
        self._lost = [t for t in running if t.number not in known]

    def suggest(self, trial_id: str) -> dict | None:
        for _ in range(MAX_REFUSED):
            if self.limit is not None and self.suggested >= self.limit and trial_id not in self._ot_trials:
                return Searcher.FINISHED
            if trial_id not in self._ot_trials:
                self.suggested += 1
            lost = getattr(self, "_lost", None)
            if trial_id not in self._ot_trials and lost:
                # Optuna's Trial handle takes the storage's id; its sampled values are replayed by suggest_*.
                self._ot_trials[trial_id] = optuna.trial.Trial(self._ot_study, lost.pop(0)._trial_id)
            params = super().suggest(trial_id)
            reason = self.refuse(params) if self.refuse and isinstance(params, dict) else None
            if reason is None:
                return params
            ot_trial = self._ot_trials.pop(trial_id)
            ot_trial.set_user_attr("pruned_reason", reason)
            if self.teach_failures:
                predicted = self.job.predicted(params).get("peak_memory_mb") if self.job is not None else None
                budget = getattr(self.job, "memory_budget_mb", None)
                for name, value in feedback.violations(feedback.MEMORY, predicted and predicted.mb, budget).items():
                    ot_trial.set_constraint(name, value)
            self._ot_study.tell(ot_trial, state=optuna.trial.TrialState.PRUNED)
            recorder = active_recorder()
            if recorder is not None:
                recorder.record_pruned(f"pruned-{ot_trial.number}", params, reason)
        message = f"{MAX_REFUSED} suggestions in a row were refused ({reason}); no more trials"
        print(f"sweep: {message}", flush=True)
        if self.ended_file is not None:
            self.ended_file.write_text(message + "\n")
        return Searcher.FINISHED

    def on_trial_result(self, trial_id: str, result: dict) -> None:
        if "peak_memory_mb" in result:  # the last measured peak: how far a trial over the budget went
            self.__dict__.setdefault("peaks", {})[trial_id] = result["peak_memory_mb"]
        try:
            super().on_trial_result(trial_id, result)
        except optuna.exceptions.UpdateFinishedTrialError:
            self._completed_trials.add(trial_id)  # finished before the driver died; the resumed run replays it

    def on_trial_complete(self, trial_id: str, result: dict | None = None, error: bool = False) -> None:
        metrics = self.metric if isinstance(self.metric, list) else [self.metric]
        kind = feedback.FAILURES.pop(trial_id, None) if error else None
        if result and any(not finite(result.get(m)) for m in metrics):
            result, error, kind = None, True, feedback.DIVERGED
        if self._stopped_early(trial_id, result, error):
            self._ot_study.tell(self._ot_trials[trial_id], state=optuna.trial.TrialState.PRUNED)
            self._completed_trials.add(trial_id)
            return
        if kind is None or not self.teach_failures or trial_id in self._completed_trials:
            super().on_trial_complete(trial_id, result=result, error=error)
            return
        ot_trial = self._ot_trials[trial_id]
        peak = self.__dict__.get("peaks", {}).pop(trial_id, None)
        for name, value in feedback.violations(kind, peak, getattr(self.job, "memory_budget_mb", None)).items():
            ot_trial.set_constraint(name, value)
        self._ot_study.tell(ot_trial, state=optuna.trial.TrialState.PRUNED)
        self._completed_trials.add(trial_id)

    def _stopped_early(self, trial_id: str, result: dict | None, error: bool) -> bool:
        return (
            self.stopped_as_pruned and not error and result is not None and self.max_epochs is not None
            and not isinstance(self.metric, list) and trial_id not in self._completed_trials
            and result.get("supervised_epoch", self.max_epochs) < self.max_epochs
        )  # fmt: skip


def sweep_trial(config: dict[str, Any], job: Any = None, objectives: tuple[str, ...] = (), plan: dict | None = None):
    """One trial: the job's config for the sampled values, trained here or on a Ray Train worker group."""
    context = tune.get_context()
    for name, error in NOT_RETRIED.items():
        reason = read_marker(context, name)
        if reason is not None:
            raise error(reason)
    params = trial_params(config)
    cfg, workers = job.resolve(params), job.workers(params)
    try:
        if workers == 1:
            # Not inside the trial directory: Tune uploads that directory while the run replaces its files, and
            # what the run writes reaches Tune as reported checkpoints and metrics anyway.
            with tempfile.TemporaryDirectory(prefix="auxlstm-trial-") as out:
                _train_here(job, cfg, Path(out), objectives)
        else:
            _train_on_workers(job, cfg, workers, plan, context.get_trial_id())
    except Exception as err:
        name, reason = _not_retried(err)
        if name is None:
            raise
        write_marker(context, name, reason)
        raise NOT_RETRIED[name](reason) from err


# Markers live in the trial's folder on its storage, which every node reaches (an s3:// bucket, an NFS path). The
# trial directory `get_trial_dir()` names is on one node's disk (measured, Ray 2.60: under the Ray session's
# /tmp/ray/session_*/artifacts/.../driver_artifacts/), and a retry may run on another node. That local folder is
# the fallback where the storage cannot be had (a Tune session without one).


def _marker_paths(context: Any, name: str) -> list[tuple[Any, str]]:
    """(pyarrow filesystem, path) where the marker `name` of this trial may be: its storage, then the local folder."""
    places = []
    try:
        storage = context.get_storage()  # Ray's StorageContext (a developer API): the filesystem trials persist to
        places.append((storage.storage_filesystem, f"{storage.trial_fs_path}/{name}"))
    except Exception:  # Ray's, when the session has no storage context
        pass
    try:
        places.append((pyarrow.fs.LocalFileSystem(), str(Path(context.get_trial_dir()) / name)))
    except Exception:
        pass
    return places


def read_marker(context: Any, name: str) -> str | None:
    """The reason a former attempt of this trial left in marker `name`, or None when it left none."""
    for fs, path in _marker_paths(context, name):
        try:
            if fs.get_file_info(path).type == pyarrow.fs.FileType.File:
                with fs.open_input_stream(path) as stream:
                    return stream.read().decode()
        except Exception:  # pyarrow's OSError or ArrowInvalid: unreachable from this node, try the next place
            continue
    return None


def write_marker(context: Any, name: str, reason: str) -> bool:
    """Leave `reason` in marker `name` where a retry on any node finds it; False (and a warning) when nowhere could
    take it: the trial still fails with its own reason, only a retry is not prevented."""
    for fs, path in _marker_paths(context, name):
        try:
            fs.create_dir(path.rpartition("/")[0], recursive=True)
            with fs.open_output_stream(path) as stream:
                stream.write(reason.encode())
            return True
        except Exception:  # whatever the filesystem raises must not hide the trial's own reason
            continue
    print(f"sweep: could not keep the {name} marker of this trial; a retry may repeat it", file=sys.stderr)
    return False


def _not_retried(err: BaseException) -> tuple[str | None, str]:
    """(marker, reason) for a failure a retry would repeat, looking through what `err` wraps (a Ray Train run's
    worker errors); (None, "") for any other."""
    seen, todo = [], [err]
    while todo:
        error = todo.pop()
        if error is None or any(error is s for s in seen):
            continue
        seen.append(error)
        todo += [error.__cause__, error.__context__, *getattr(error, "worker_failures", {}).values()]
    for error in reversed(seen):  # the innermost first: a worker's own error, not Ray Train's summary of it
        if isinstance(error, (FloatingPointError, TrialDiverged)):
            return DIVERGED, str(error)
        if isinstance(error, TrialOutOfMemory):
            return OUT_OF_MEMORY, str(error)
        message = " ".join(str(error).split())  # the CPU allocator's RuntimeError, CUDA's OutOfMemoryError
        if (
            isinstance(error, (MemoryError, torch.OutOfMemoryError))
            or "can't allocate memory" in message
            or (isinstance(error, RuntimeError) and "out of memory" in message.lower())
        ):
            return OUT_OF_MEMORY, f"out of memory: {message[:300]}; {MEMORY_FIX}"  # the table keeps 500 characters
    return None, ""


def _check_finite(metrics: dict[str, Any], objectives: tuple[str, ...]) -> None:
    for name in objectives:
        if name in metrics and not finite(metrics[name]):
            raise FloatingPointError(f"{name} became {metrics[name]} in epoch {metrics['epoch']}")


def _train_here(job: Any, cfg: Any, out: Path, objectives: tuple[str, ...]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    restored, resume_from, resumed = tune.get_checkpoint(), None, 0
    if restored is not None:
        resume_from = out / "restored.pt"
        resumed = restore_readable(restored, resume_from)
    budget = getattr(job, "memory_budget_mb", None)

    def report(metrics: dict[str, Any]) -> None:
        _check_finite(metrics, objectives)
        metrics = {**metrics, "resumed_from_epoch": resumed}
        with tempfile.TemporaryDirectory() as directory:
            shutil.copy(out / CHECKPOINT, Path(directory) / CHECKPOINT)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(directory))
        if budget is not None and metrics["peak_memory_mb"] > budget:  # reported first: the table shows the peak
            raise TrialOutOfMemory(f"peak memory {metrics['peak_memory_mb']:,.0f} MB over the budget {budget:,.0f} MB "
                                   f"in epoch {metrics['epoch']}; {MEMORY_FIX}")  # fmt: skip

    job.run(cfg, Path(job.data_dir), out, on_epoch=report, resume_from=resume_from)


def _train_on_workers(job: Any, cfg: Any, workers: int, plan: dict, trial_id: str) -> None:
    from ray.tune.integration.ray_train import TuneReportCallback

    from tuning.ray_train import WorkerConfig, run_distributed

    # A stable name: a restarted trial finds its Train run, which resumes from its latest checkpoint.
    run_distributed(
        WorkerConfig(run=job.run, config=cfg, data_dir=job.data_dir), name=f"trial-{trial_id}",
        storage=plan["train_storage"], workers=workers, gpus_per_worker=plan["gpus"],
        cpus_per_worker=plan["cpus"], max_failures=2, callbacks=[TuneReportCallback()],
        placement_strategy=plan.get("placement", "PACK"),
    )  # fmt: skip


def trial_resources(job: Any, cpus: float, gpus: float, config: dict[str, Any]) -> PlacementGroupFactory:
    """What Tune reserves for the trial of `config`: the whole job when it trains in the trial, else 1 CPU for
    the driver (Ray Train reserves the workers' own resources when it starts them)."""
    if job.workers(trial_params(config)) == 1:
        return PlacementGroupFactory([{"CPU": cpus, **({"GPU": gpus} if gpus else {})}])
    return PlacementGroupFactory([{"CPU": 1}])


def concurrency_for(plan: SweepPlan, cluster: dict[str, float]) -> int:
    """Trials that can run at once on this cluster (a trial with workers needs 1 + its workers' CPUs together)."""
    cpus = plan.cpus if plan.workers == 1 else 1 + plan.workers * plan.cpus
    gpus = plan.gpus * plan.workers
    fits = [math.floor(cluster.get("CPU", 0) / cpus + 1e-9)]
    if gpus:
        fits.append(math.floor(cluster.get("GPU", 0) / gpus + 1e-9))
    if min(fits) < 1:
        raise SweepError(
            f"one trial needs {cpus:g} CPUs and {gpus:g} GPUs (resources: cpus, gpus, workers), but the cluster has "
            f"{cluster.get('CPU', 0):g} CPUs and {cluster.get('GPU', 0):g} GPUs"
        )
    return min(plan.concurrency, *fits)


def sampler_for(kind: str, seed: int, startup: int = 10) -> optuna.samplers.BaseSampler:
    """The sweep's sampler (`tpe`, its first `startup` trials random), or `random` (a baseline of the replay bench,
    `tuning.replay`)."""
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    # Constant liar: parallel trials do not all sample the same region while the first ones are still running.
    return optuna.samplers.TPESampler(seed=seed, multivariate=True, constant_liar=True, n_startup_trials=startup)


def _searcher(plan: SweepPlan) -> OptunaSearch | None:
    if plan.fixed:
        return None  # Tune's grid over the points (`param_space`)
    metrics = [m for m, _ in plan.objectives]
    modes = [mode for _, mode in plan.objectives]
    sampler = sampler_for("tpe", plan.seed)
    storage = optuna.storages.RDBStorage(storage_url(plan.sweep_dir))
    search = SweepSearch(
        space=plan.space,
        metric=metrics if len(metrics) > 1 else metrics[0],
        mode=modes if len(modes) > 1 else modes[0],
        points_to_evaluate=list(plan.points) or None,
        sampler=sampler,
        study_name=plan.name,
        storage=storage,
    )
    search.refuse, search.job = getattr(plan.job, "refuse", None), plan.job
    search.limit = plan.trials if plan.exact_points else None
    # A sweep restarted from scratch has asked for these already (the enqueued points wait to be asked).
    waiting = optuna.trial.TrialState.WAITING
    ours = optuna.load_study(study_name=plan.name, storage=storage)  # made by OptunaSearch (or warm start)
    name_objectives(ours, metrics)
    search.suggested = sum(t.state != waiting for t in searched_trials(ours))
    search.ended_file = Path(plan.sweep_dir) / SEARCH_ENDED
    return search


def name_objectives(study: optuna.Study, metrics: list[str]) -> None:
    """Name the study's objectives after their metrics, so optuna-dashboard's charts read 'val/accuracy', not
    'Objective 0' (Optuna calls `set_metric_names` experimental; it has been stable since 3.2)."""
    if study.metric_names != metrics:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            study.set_metric_names(list(metrics))


def scheduler_for(plan: SweepPlan) -> tune.schedulers.TrialScheduler:
    """ASHA on the first objective, keyed on supervised epochs (pretraining epochs have nothing to compare), its
    rungs kept in the sweep directory across a resume (`tuning.resumable_asha`); or FIFO."""
    if plan.scheduler == "fifo" or plan.fixed:
        return feedback.NotingFIFO()
    metric, mode = plan.objectives[0]
    return ResumableASHA(
        state_file=plan.sweep_dir / ASHA_STATE if plan.sweep_dir else None, time_attr="supervised_epoch",
        metric=metric, mode=mode, max_t=plan.max_supervised_epochs, grace_period=plan.grace_period,
        reduction_factor=plan.reduction_factor,
    )  # fmt: skip


def _trainable(plan: SweepPlan) -> Any:
    details = {
        "cpus": plan.cpus, "gpus": plan.gpus, "placement": plan.placement,
        "train_storage": Storage(plan.storage, plan.storage_endpoint).join(f"{plan.name}-train"),
    }  # fmt: skip
    trainable = tune.with_parameters(
        sweep_trial, job=plan.job, objectives=tuple(m for m, _ in plan.objectives), plan=details
    )
    return tune.with_resources(trainable, functools.partial(trial_resources, plan.job, plan.cpus, plan.gpus))


def _has_trials(plan: SweepPlan) -> bool:
    storage = storage_url(plan.sweep_dir)
    names = [s.study_name for s in optuna.get_all_study_summaries(storage)]
    return plan.name in names and bool(searched_trials(optuna.load_study(study_name=plan.name, storage=storage)))


def experiment_place(plan: SweepPlan) -> tuple[Any, str]:
    """(filesystem, path) of the sweep's Tune experiment on its storage (tuning.storage)."""
    return Storage(plan.storage, plan.storage_endpoint).join(plan.name).place()


def _restored_tuner(path: str, plan: SweepPlan, fs: Any = None) -> tune.Tuner:
    """Tune's saved sweep, to continue. Its state is pickled, and names the classes of the code that saved it (the
    search space, the trial job): a sweep saved by another version of the project is refused, saying so."""
    try:
        return tune.Tuner.restore(path, trainable=_trainable(plan), resume_unfinished=True, resume_errored=False,
                                  storage_filesystem=fs)  # fmt: skip
    except (ModuleNotFoundError, AttributeError) as err:
        raise SweepError(
            f"Tune's saved state in {path} was written by another version of the project ({err}); resume the sweep "
            "with the version that started it (its commit is `git_commit` in the sweep's sweep.json)"
        ) from err


def run_sweep(plan: SweepPlan, *, address: str | None, resume: bool, quiet: bool = True) -> None:
    """Run (or, with `resume`, continue) the sweep; trials' results reach the results table and MLflow."""
    # Save the sweep state after every controller step, so a killed driver loses no started trial.
    os.environ.setdefault("TUNE_GLOBAL_CHECKPOINT_S", "0")
    os.environ.setdefault("RAY_AIR_NEW_OUTPUT", "0")
    if not ray.is_initialized():
        try:
            init_ray(address, include_dashboard=False, log_to_driver=not quiet)
        except ClusterError as err:
            raise SweepError(str(err)) from err
    cluster = ray.cluster_resources()
    if plan.gpus and not cluster.get("GPU") and plan.cpu_fallback:
        print("sweep: no GPU in this cluster; the smoke test trains on CPU", flush=True)
        plan = dataclasses.replace(plan, gpus=0.0)
    concurrency = concurrency_for(plan, cluster)
    recorder = SweepRecorder(
        sweep_dir=plan.sweep_dir, tracker=plan.tracker, job=plan.job, objectives=plan.objectives,
        trials=plan.earlier_trials + plan.trials, concurrency=concurrency, replaces_pruned=not plan.exact_points,
        storage=Storage(plan.storage, plan.storage_endpoint),
    )  # fmt: skip
    fs, path = experiment_place(plan)
    if resume and fs is None and "://" not in path and repair(Path(path), plan.sweep_dir / BACKUP):
        print("sweep: Tune's saved state was damaged (the driver died while writing it); using the last complete copy")
    if resume and tune.Tuner.can_restore(path, storage_filesystem=fs):
        tuner = _restored_tuner(path, plan, fs)
    else:
        if resume and not plan.fixed:
            # The driver died before Tune saved anything: start again, without enqueuing the points twice.
            print("sweep: no saved sweep state to resume; starting it again", flush=True)
            if _has_trials(plan):
                plan = dataclasses.replace(plan, points=[])
        if not plan.fixed:  # the search's own rungs; re-runs of fixed points have none
            forget_rungs(plan.sweep_dir)
        fs, storage_path = Storage(plan.storage, plan.storage_endpoint).place()
        tuner = tune.Tuner(
            _trainable(plan),
            param_space={POINT: tune.grid_search(list(plan.points))} if plan.fixed else None,
            tune_config=tune.TuneConfig(
                search_alg=_searcher(plan), scheduler=scheduler_for(plan), num_samples=1 if plan.fixed else plan.trials,
                max_concurrent_trials=concurrency,
            ),
            run_config=tune.RunConfig(
                name=plan.name, storage_path=storage_path, storage_filesystem=fs, callbacks=[recorder], verbose=0,
                failure_config=tune.FailureConfig(max_failures=plan.max_trial_failures),
                checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            ),
        )  # fmt: skip
    tuner.fit()
