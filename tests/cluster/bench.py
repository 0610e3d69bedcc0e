"""The smoke sweep on the namespaced cluster with S3 storage against the same sweep on a local cluster, and what one
checkpoint upload costs a trial on the worker node (BENCHMARKS.md, "A cluster whose nodes share no disk").

    sudo .venv/bin/python -m tests.cluster.bench      # root: it makes network and mount namespaces

Prints one Markdown table. One run each: compare within the table only.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.cluster.nodes import BUCKET, GCS, MLFLOW, PROJECT, S3, NamespacedCluster, available

UPLOADS = 20
_UPLOAD = """
import statistics, sys, time, pyarrow.fs
fs = pyarrow.fs.S3FileSystem(endpoint_override=%r, scheme="http")
with fs.open_input_stream(%r) as stream:
    payload = stream.read()
times = []
for i in range(%d):
    started = time.perf_counter()
    with fs.open_output_stream(f"%s/bench/upload-{i}") as out:
        out.write(payload)
    times.append(time.perf_counter() - started)
print(len(payload), statistics.median(times))
"""


def _finished(output: str) -> float:
    return float(re.search(r"finished in (\d+) s", output).group(1))


def _sweep(argv: list[str], run) -> tuple[float, float]:
    """(the driver's wall seconds, the sweep's own 'finished in' seconds) of one smoke sweep."""
    started = time.perf_counter()
    done = run([sys.executable, "-m", "study.sweep", "--smoke-test", "--no-report", *argv])
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return time.perf_counter() - started, _finished(done.stdout)


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m tests.cluster.bench", description=__doc__.splitlines()[0]).parse_args(argv)
    from data import default_data_dir

    missing = available()
    if missing:
        print(f"the namespaced cluster {missing}", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="ax-", dir="/tmp"))
    cluster = NamespacedCluster(root, data_dir=default_data_dir().resolve())
    try:
        started = time.perf_counter()
        cluster.start()
        up = time.perf_counter() - started
        env = {**cluster.ray_env(), **cluster.keys}
        remote = _sweep(
            ["--name", "bench", "--address", GCS, "--storage", f"s3://{BUCKET}/ray", "--storage-endpoint", S3,
             "--tracking-uri", MLFLOW, "--sweeps-dir", str(cluster.state / "sweeps")],
            lambda argv: cluster.run(argv, env=env, cwd=PROJECT),
        )  # fmt: skip
        local = _sweep(
            ["--name", "bench-local", "--sweeps-dir", str(root / "local"), "--tracking-uri", f"sqlite:///{root}/l.db"],
            lambda argv: subprocess.run(argv, capture_output=True, text=True, cwd=PROJECT),
        )  # fmt: skip
        checkpoint = next(k for k in cluster.bucket() if k.startswith("ray/bench/") and k.endswith("checkpoint.pt"))
        code = _UPLOAD % (S3.removeprefix("http://"), f"{BUCKET}/{checkpoint}", UPLOADS, BUCKET)
        upload = subprocess.run(
            ["ip", "netns", "exec", cluster.worker_ns, sys.executable, "-c", code],
            env={**env, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=True,
        )  # fmt: skip
        size, seconds = upload.stdout.split()
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(f"| cluster up (head, worker, S3, MLflow server) | {up:.1f} s |")
    print(f"| smoke sweep, namespaced cluster, S3 storage: driver / sweep | {remote[0]:.1f} s / {remote[1]:.0f} s |")
    print(f"| smoke sweep, local cluster, local storage: driver / sweep | {local[0]:.1f} s / {local[1]:.0f} s |")
    print(f"| one checkpoint ({int(size) / 1e6:.2f} MB) to the bucket from the worker node, median of {UPLOADS} | "
          f"{float(seconds) * 1000:.0f} ms |")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
