"""One run, data-parallel on a Ray cluster through `tuning.ray_train`; rerunning with the same `out` resumes it.

Ray is imported only when `run_on_ray` is called: this package stays Ray-free to import.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from study.run.config import RunConfig, dump_yaml


@dataclass(frozen=True)
class RayResources:
    """Where and how wide a data-parallel run trains."""

    workers: int
    gpus_per_worker: float = 0.0
    cpus_per_worker: float = 1.0
    address: str | None = None  # None: a local cluster of its own; "auto": the one `ray start` began
    storage: str | None = None  # checkpoints, reached by every node; default OUT/ray
    storage_endpoint: str | None = None  # an S3-compatible server's http(s)://HOST:PORT (tuning.storage)
    placement: str = "PACK"  # Ray's placement strategy for the workers
    max_failures: int = 2  # worker-group restarts before the run fails


def run_on_ray(cfg: RunConfig, out: Path, resources: RayResources, *, data_dir: str | None = None) -> dict[str, Any]:
    """The same run as `study.run.local.run`, on `resources.workers` Ray Train workers."""
    from tuning.cluster import check_address

    check_address(resources.address)  # before Ray is imported: it would retry an address that does not answer
    from data import default_data_dir, get_info
    from models.checkpoint import load_checkpoint
    from study.run.runner import CHECKPOINT, run_config, write_results
    from tuning.ray_train import WorkerConfig, run_distributed
    from tuning.storage import Storage

    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(dump_yaml(cfg))
    data = default_data_dir(data_dir).resolve()
    get_info(cfg.data.name).prepare(data, None)  # once here, not racing in every worker
    started = time.perf_counter()
    worker = WorkerConfig(run=run_config, config=cfg, data_dir=str(data))
    last = run_distributed(
        worker, name="train", storage=Storage(resources.storage or str(out / "ray"), resources.storage_endpoint),
        workers=resources.workers, gpus_per_worker=resources.gpus_per_worker,
        cpus_per_worker=resources.cpus_per_worker, placement_strategy=resources.placement,
        address=resources.address, max_failures=resources.max_failures, download_to=out / CHECKPOINT,
    )  # fmt: skip
    history = load_checkpoint(out / CHECKPOINT)["history"]
    return write_results(out, history, last["test_accuracy"], time.perf_counter() - started, workers=resources.workers)
