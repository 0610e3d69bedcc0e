"""Where a sweep's state and data go on a cluster: the storage every node reaches (checked before anything starts),
the driver's own state kept out of a submitted job's temporary folder, and the datasets shipped to the storage.

- Storage: a node-local path for a cluster the sweep joins is refused (tuning.cluster.check_storage), and an S3
  endpoint is given once, on the driver (tuning.storage); both are kept in sweep.json for --resume.
- A driver started by `ray job submit --working-dir` runs in Ray's copy of that folder, which Ray deletes when it
  evicts its cache: a sweeps folder or MLflow store inside it would vanish with the sweep's resume state.
- Data: where the storage is a URI (s3://, gs://), the driver uploads each prepared dataset to STORAGE/data once,
  named by its checksum; trials copy it into their node's cache (study.driver.job.TrialJob.data_here).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

SUBMITTED_FIX = (
    "give --sweeps-dir an absolute path that outlives the job (on the head's disk, or shared by the machines that "
    "may run the driver) and --tracking-uri an MLflow server (http://HOST:5000) or a database there"
)


def storage_of(args: argparse.Namespace, data: dict[str, Any], default: str) -> Any:
    """The sweep's `tuning.storage.Storage`: the one it started with, else the flags', else `default`. Its endpoint:
    --storage-endpoint, else AWS_ENDPOINT_URL(_S3) for an s3:// storage."""
    from tuning.storage import Storage, endpoint_from_env

    if data.get("storage"):
        return Storage(data["storage"], data.get("storage_endpoint"))
    uri = args.storage or default
    endpoint = args.storage_endpoint
    if endpoint is None and uri.lower().startswith("s3://"):
        endpoint = endpoint_from_env()
    return Storage(uri, endpoint)


def state_refusal(args: argparse.Namespace, data: dict[str, Any], cwd: Path | None = None) -> str | None:
    """Why the driver of a submitted job must not keep its state where it would (None where it may): under
    `ray job submit --working-dir` the current folder is Ray's temporary copy."""
    from tuning.cluster import job_runtime_env

    if not job_runtime_env().get("working_dir"):
        return None
    here = (cwd or Path.cwd()).resolve()
    inside = []
    if here == Path(args.sweeps_dir).resolve() or here in Path(args.sweeps_dir).resolve().parents:
        inside.append(f"--sweeps-dir {args.sweeps_dir}")
    if not (args.tracking_uri or data.get("tracking_uri")):
        inside.append("--tracking-uri (default sqlite:///$PWD/mlflow.db)")
    if not inside:
        return None
    return (
        f"this driver runs as a Ray job in Ray's temporary copy of its working folder ({here}), which Ray deletes: "
        f"{' and '.join(inside)} would keep the sweep's state there; {SUBMITTED_FIX}"
    )


def ship_datasets(checksums: str, data_dir: Path, storage: Any) -> Any:
    """Upload each prepared dataset ("NAME:SHA ...") to STORAGE/data, unless there already; the data store (a
    `Storage`), or None where the storage is a path (the nodes then read their own copies)."""
    from data import get_info
    from data.shipping import shipped_name, upload
    from tuning.cluster import node_local

    if node_local(storage.uri):
        return None
    store = storage.join("data")
    for item in checksums.split():
        name, checksum = item.split(":", 1)
        fs, place = store.join(shipped_name(name, checksum)).resolve()
        if upload(get_info(name).prepare(data_dir, None), fs, place):
            print(f"data: {name} shipped to {store.locate(place)} for the cluster's nodes", flush=True)
    return store
