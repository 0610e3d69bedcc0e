"""`python -m study.train`: one training run, on this machine or (with --workers) data-parallel on Ray.

Writes DIR/config.yaml (the resolved config, before training), DIR/checkpoint.pt (every epoch),
DIR/history.json (per-epoch metrics) and DIR/metrics.json (final results).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from study.run.shadowing import refuse_shadowed


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m study.train", description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, help="YAML config; defaults apply to what it leaves out")
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override one config key, e.g. --set train.truncation=50 (repeatable)",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="run directory for config, checkpoint, metrics")
    parser.add_argument("--data-dir", help="dataset cache (default: $AUXLSTM_DATA_DIR or ~/.cache/auxlstm)")
    parser.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt if present")
    parser.add_argument(
        "--smoke-test", action="store_true", help="1 pretraining + 1 epoch on 256 examples: checks a set-up"
    )
    ray = parser.add_argument_group("Ray cluster (all Ray code lives in tuning/)")
    ray.add_argument("--workers", type=int, help="data-parallel Ray Train workers; without it the run stays local")
    ray.add_argument("--gpus-per-worker", type=float, default=0, help="GPUs per worker (0: CPU, Gloo)")
    ray.add_argument("--cpus-per-worker", type=float, default=1)
    ray.add_argument("--address", help="Ray cluster to join ('auto': the running one); default: start a local one")
    ray.add_argument("--storage", help="checkpoint storage shared by all nodes (path or URI); default DIR/ray")
    ray.add_argument("--storage-endpoint", help="an S3-compatible server (MinIO) for an s3:// --storage: "
                     "http(s)://HOST:PORT (default: $AWS_ENDPOINT_URL_S3 or $AWS_ENDPOINT_URL)")
    ray.add_argument("--placement", choices=["PACK", "SPREAD", "STRICT_SPREAD"], default="PACK",
                     help="the workers on as few nodes as possible (default), spread, or one per node")
    ray.add_argument("--shared-storage", action="store_true", help="the --storage path is mounted at the same place "
                     "on every node of the --address cluster (NFS, or one node); without it a path there is refused")
    ray.add_argument("--max-failures", type=int, default=2, help="worker-group restarts before the run fails")
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    # Ray would only refuse these once the cluster is up, or not at all (a negative share of a GPU).
    if args.gpus_per_worker < 0:
        parser.error(f"--gpus-per-worker must be at least 0 (0: CPU workers), got {args.gpus_per_worker:g}")
    if args.cpus_per_worker <= 0:
        parser.error(f"--cpus-per-worker must be above 0, got {args.cpus_per_worker:g}")
    if args.max_failures < 0:
        parser.error(f"--max-failures must be at least 0, got {args.max_failures}")
    return args


def main(argv: list[str] | None = None) -> int:
    refuse_shadowed("auxlstm-train")
    from data import DatasetError
    from models.checkpoint import CheckpointError
    from study.run.config import ConfigError, load_config
    from study.run.local import SMOKE_OVERRIDES
    from tuning.cluster import ClusterError, StorageError, check_storage
    from tuning.storage import Storage, StorageURIError, endpoint_from_env

    args = parse_args(argv)
    if args.workers is not None:  # before the config is read, the address dialled or Ray imported
        storage = args.storage or str(args.out / "ray")
        s3 = storage.lower().startswith("s3://")
        args.storage_endpoint = args.storage_endpoint or (endpoint_from_env() if s3 else None)
        try:
            Storage(storage, args.storage_endpoint).check()
            check_storage(storage, args.address, shared=args.shared_storage)
        except (StorageError, StorageURIError) as err:
            print(f"storage error: {err}", file=sys.stderr)
            return 2
    overrides = list(args.overrides)
    if args.smoke_test:
        overrides = SMOKE_OVERRIDES + overrides
    try:
        cfg = load_config(args.config, overrides)
    except ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        return 2
    from study.run.local import run
    from study.run.on_ray import RayResources, run_on_ray

    try:
        if args.workers is None:
            metrics = run(cfg, args.out, data_dir=args.data_dir, resume=args.resume)
        else:
            resources = RayResources(
                workers=args.workers, gpus_per_worker=args.gpus_per_worker, cpus_per_worker=args.cpus_per_worker,
                address=args.address, storage=args.storage, max_failures=args.max_failures,
                storage_endpoint=args.storage_endpoint, placement=args.placement,
            )  # fmt: skip
            metrics = run_on_ray(cfg, args.out, resources, data_dir=args.data_dir)
    except DatasetError as err:
        print(f"data error: {err}", file=sys.stderr)
        return 1
    except ConfigError as err:  # what only the device decides, e.g. fp16 on a CPU
        print(f"config error: {err}", file=sys.stderr)
        return 2
    except FloatingPointError as err:
        print(f"training diverged: {err}; the last good epoch is in {args.out}/checkpoint.pt", file=sys.stderr)
        return 1
    except ClusterError as err:
        print(f"cluster error: {err}", file=sys.stderr)
        return 1
    except CheckpointError as err:  # --resume and no readable checkpoint
        print(f"checkpoint error: {err}", file=sys.stderr)
        return 1
    val = "" if metrics["val_accuracy"] is None else f" (val {metrics['val_accuracy']:.4f})"  # data.validation: none
    print(
        f"test accuracy {metrics['test_accuracy']:.4f}{val} after "
        f"{metrics['epochs']} epochs in {metrics['wall_seconds']:.0f} s; results in {args.out}/"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
