"""A Ray cluster whose nodes share no disk, on this one machine (../shared/cluster-recipe.md, verified there).

- Two network namespaces joined by a veth pair: the head's (10.200.0.1) and the worker's (10.200.0.2). Those
  addresses exist only inside namespaces made here. The head, the S3-compatible server (moto, authentication on),
  the MLflow server and every client (drivers, `ray job submit`, the checks) run in the head's namespace.
- The head offers no CPUs (unless asked): every trial runs on a worker node, started in its own mount namespace
  with empty tmpfs over the driver's state folder, the data cache, the head's Ray folder, the private home and
  the project's package folders. A trial there sees none of the driver's files and none of the project's code
  except what Ray ships to it.
- Ray token authentication on, with a token in a private home (mode 0700).

Everything started here is stopped by `stop` (SIGTERM to each process's session, SIGKILL to what is left of it
after 5 s, then the namespaces go). Never `ray stop`: it would stop every Ray process on the machine.
Gloo (Ray Train on CPU) takes the address the host name resolves to, loopback here: each node gets
`GLOO_SOCKET_IFNAME`, as the README tells users of such hosts.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
PACKAGES = ("data", "models", "study", "tuning")
NET = "10.200.0"
HEAD_IP, WORKER_IP, SIDE_IP = f"{NET}.1", f"{NET}.2", f"{NET}.3"  # SIDE_IP: a node beside the head, on its disk
GCS = f"{HEAD_IP}:6379"
S3 = f"http://{HEAD_IP}:5000"  # every node reaches the bucket
# The Jobs API and the MLflow server serve the head's loopback only: the driver runs on the head (submitted there,
# or through an SSH tunnel, as the README says), and no trial talks to MLflow.
DASHBOARD = "http://127.0.0.1:8265"
MLFLOW = "http://127.0.0.1:5001"
BUCKET = "auxlstm"
UP_TIMEOUT_S = 60

# Moto's authentication: the next 3 calls pass without it (the user, its policy and its key), then every call
# needs a key with a policy that allows it.
_S3_USER = f"""
import json, sys, urllib.request
import boto3
url = {S3!r}
urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset-auth", data=b"3", method="POST",
                                              headers={{"Content-Type": "text/plain"}})).read()
iam = boto3.client("iam", endpoint_url=url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
iam.create_user(UserName="auxlstm")
policy = {{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}]}}
iam.put_user_policy(UserName="auxlstm", PolicyName="s3", PolicyDocument=json.dumps(policy))
key = iam.create_access_key(UserName="auxlstm")["AccessKey"]
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id=key["AccessKeyId"],
                  aws_secret_access_key=key["SecretAccessKey"])
s3.create_bucket(Bucket={BUCKET!r})
print(json.dumps({{"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}}))
"""

_LIST_BUCKET = f"""
import json, boto3
s3 = boto3.client("s3", endpoint_url={S3!r}, region_name="us-east-1")
keys = []
for page in s3.get_paginator("list_objects_v2").paginate(Bucket={BUCKET!r}):
    keys += [item["Key"] for item in page.get("Contents", [])]
print(json.dumps(keys))
"""


def _raylet_started(temp_dir: Path) -> bool:
    """Whether the node whose Ray folder is `temp_dir` has registered with the head (its raylet says so)."""
    log = temp_dir / "session_latest" / "logs" / "raylet.out"
    return log.is_file() and " started. Raylet consists of" in log.read_text(errors="replace")


def _end(processes: list[subprocess.Popen], timeout: float = 5) -> None:
    """SIGTERM each one's session (every process here starts one; a node's Ray processes, the MLflow server's
    uvicorn stay in it), then SIGKILL what is left of it."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for process in processes:
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # stragglers of its session, even after it ended
        process.wait()


def _wait(check, what: str, timeout: float = UP_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not come up in {timeout:g} s")


class NamespacedCluster:
    """Head, S3, MLflow server and worker nodes in namespaces of their own; `root` holds every file they write."""

    def __init__(self, root: Path, *, data_dir: Path, head_cpus: int = 0) -> None:
        tag = f"ax{os.getpid() % 100000}"
        self.head_ns, self.worker_ns = f"{tag}h", f"{tag}w"
        self.root = root
        self.home = root / "home"
        self.state = root / "state"  # the driver's: sweeps, MLflow's database, the local data cache
        self.data_dir = data_dir  # the driver's prepared datasets (masked on worker nodes)
        self.heads = root / "heads"  # each head's Ray folder (a replaced head gets a new one)
        self.masked = [self.state, self.home, self.heads, data_dir, *(PROJECT / p for p in PACKAGES)]
        self.head_cpus = head_cpus
        self.bin = Path(sys.executable).parent
        self.processes: dict[str, subprocess.Popen] = {}
        self.workers: list[subprocess.Popen] = []
        self.temp_dirs: dict[int, Path] = {}  # a node's Ray folder, by the pid of its blocking start
        self.keys: dict[str, str] = {}
        self.token = ""

    # -- up and down ----------------------------------------------------------------------------------------------

    def start(self) -> NamespacedCluster:
        for path in (self.home, self.state, self.heads, self.root / "logs"):
            path.mkdir(parents=True, exist_ok=True)
        self.home.chmod(0o700)
        self._network()
        env = {"HOME": str(self.home), "PATH": os.environ["PATH"]}
        subprocess.run([self.bin / "ray", "get-auth-token", "--generate"], env=env, check=True, capture_output=True)
        self.token = (self.home / ".ray" / "auth_token").read_text().strip()
        self._spawn("s3", [self.bin / "moto_server", "-H", HEAD_IP, "-p", "5000"])
        _wait(lambda: self._answers(S3 + "/moto-api/"), "moto")
        self.keys = json.loads(self.python(_S3_USER, check=True).stdout)
        self._spawn("mlflow", [
            self.bin / "mlflow", "server", "--host", "127.0.0.1", "--port", "5001", "--workers", "1",
            "--backend-store-uri", f"sqlite:///{self.root / 'mlflow-server.db'}",
            "--serve-artifacts", "--artifacts-destination", f"s3://{BUCKET}/mlflow",
        ], env={**self.keys, "MLFLOW_S3_ENDPOINT_URL": S3, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"})  # fmt: skip
        self._start_ray()
        _wait(lambda: self._answers(MLFLOW + "/health"), "the MLflow server")
        return self

    def _start_ray(self) -> None:
        """A head, then a worker node. The head has the bucket's keys, as a cloud VM has its role: a driver
        submitted to it runs with them."""
        tmp = self.heads / str(len(list(self.heads.iterdir())))
        tmp.mkdir()
        self._spawn("head", self._ray_start(
            "--head", "--node-ip-address", HEAD_IP, "--port", "6379", "--num-cpus", self.head_cpus,
            "--temp-dir", tmp, "--dashboard-port", "8265", "--block",
        ), env={**self.ray_env(), **self.keys})  # fmt: skip
        _wait(lambda: _raylet_started(tmp), "the head node")
        self.add_worker()
        _wait(lambda: self._answers(DASHBOARD + "/api/version"), "the Jobs API")

    def replace_ray(self) -> None:
        """The head lost, and the cluster with it: every Ray node stops; a new head and worker start on the same
        addresses. The bucket, the MLflow server and the driver's state folder stay."""
        _end([*self.workers, self.processes.pop("head")])
        self._start_ray()

    def stop(self) -> None:
        _end([*self.workers, *self.processes.values()])
        for ns in (self.head_ns, self.worker_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    def _network(self) -> None:
        veth = f"v{self.head_ns}"
        for ns in (self.head_ns, self.worker_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)  # left by a run that was killed
        commands = [
            f"ip netns add {self.head_ns}", f"ip netns add {self.worker_ns}",
            f"ip link add {veth}a type veth peer name {veth}b",
            f"ip link set {veth}a netns {self.head_ns}", f"ip link set {veth}b netns {self.worker_ns}",
            f"ip -n {self.head_ns} addr add {HEAD_IP}/24 dev {veth}a",
            f"ip -n {self.worker_ns} addr add {NET}.2/24 dev {veth}b",
            f"ip -n {self.head_ns} link set {veth}a up", f"ip -n {self.worker_ns} link set {veth}b up",
            f"ip -n {self.head_ns} link set lo up", f"ip -n {self.worker_ns} link set lo up",
        ]  # fmt: skip
        for command in commands:
            subprocess.run(command.split(), check=True, capture_output=True)

    def _spawn(self, name: str, argv: list, env: dict | None = None) -> subprocess.Popen:
        log = (self.root / "logs" / f"{name}.log").open("ab")
        process = subprocess.Popen(
            ["ip", "netns", "exec", self.head_ns, *map(str, argv)], stdout=log, stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})}, start_new_session=True,
        )  # fmt: skip
        self.processes[name] = process
        return process

    def _answers(self, url: str) -> bool:
        probe = (
            "import urllib.error, urllib.request\ntry:\n"
            f"    urllib.request.urlopen({url!r}, timeout=2)\nexcept urllib.error.HTTPError:\n    pass"
        )
        return self.python(probe).returncode == 0

    # -- nodes ----------------------------------------------------------------------------------------------------

    def _ray_start(self, *args: object) -> list:
        """`ray start ARGS`, token authentication on (the node's environment says so too)."""
        return ["env", "RAY_AUTH_MODE=token", self.bin / "ray", "start", *args]

    def ray_env(self) -> dict[str, str]:
        return {"HOME": str(self.home), "RAY_AUTH_MODE": "token", "RAY_USAGE_STATS_ENABLED": "0"}

    def add_worker(self, cpus: int = 2) -> subprocess.Popen:
        """A worker node in the worker namespace, on a disk of its own: tmpfs over every masked folder."""
        tmp = self.root / f"worker-tmp-{len(self.workers)}"
        tmp.mkdir()
        mounts = "; ".join(f"mount -t tmpfs none {p}" for p in [*self.masked, Path("/dev/shm")])
        start = self._ray_start("--address", GCS, "--node-ip-address", WORKER_IP, "--num-cpus", cpus,
                                "--temp-dir", tmp, "--block")  # fmt: skip
        script = f"{mounts}; mkdir -p $HOME/.cache; exec {shlex.join(map(str, start))}"
        log = (self.root / "logs" / f"worker-{len(self.workers)}.log").open("ab")
        worker = subprocess.Popen([
            "ip", "netns", "exec", self.worker_ns, "unshare", "--mount", "--propagation", "private",
            "env", "-i", "PATH=/usr/bin:/bin", f"HOME={self.home}", "RAY_AUTH_MODE=token",
            f"RAY_AUTH_TOKEN={self.token}", "RAY_USAGE_STATS_ENABLED=0", f"GLOO_SOCKET_IFNAME=v{self.head_ns}b",
            "sh", "-c", script,
        ], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
        self.workers.append(worker)
        self.temp_dirs[worker.pid] = tmp
        _wait(lambda: _raylet_started(tmp) or worker.poll() is not None, "the worker node")
        if worker.poll() is not None:
            pytest.fail(f"the worker node did not start:\n{self.logs()}")
        return worker

    def add_head_side_node(self, cpus: int) -> subprocess.Popen:
        """A node in the head's namespace (10.200.0.3), on the driver's disk: what a head that offers CPUs is."""
        veth = f"v{self.head_ns}a"
        subprocess.run(["ip", "-n", self.head_ns, "addr", "add", f"{SIDE_IP}/24", "dev", veth], check=True)
        tmp = self.root / "side-tmp"
        tmp.mkdir(exist_ok=True)
        start = self._ray_start("--address", GCS, "--node-ip-address", SIDE_IP, "--num-cpus", cpus,
                                "--temp-dir", tmp, "--block")  # fmt: skip
        node = self._spawn("side", start, env={**self.ray_env(), "GLOO_SOCKET_IFNAME": veth})
        self.temp_dirs[node.pid] = tmp
        _wait(lambda: _raylet_started(tmp) or node.poll() is not None, "the head-side node")
        return node

    def stop_node(self, node: subprocess.Popen) -> None:
        _end([node])

    def train_workers_on(self, node: subprocess.Popen) -> int:
        """How many Ray Train workers the node ran (each actor's log names its class)."""
        logs = (self.temp_dirs[node.pid] / "session_latest" / "logs").glob("worker-*.out")
        return sum(":actor_name:RayTrainWorker" in path.read_text(errors="replace") for path in logs)

    def kill_worker_raylet(self) -> None:
        """SIGKILL the newest worker node's raylet, as when its machine is lost; its `--block` process then ends."""
        pids = subprocess.run(["pgrep", "-f", f"raylet.*node_ip_address={WORKER_IP}"], capture_output=True, text=True)
        for pid in pids.stdout.split():
            os.kill(int(pid), signal.SIGKILL)

    # -- clients, in the head's namespace -------------------------------------------------------------------------

    def run(self, argv: list, *, env: dict | None = None, timeout: float = 300, **kw) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ip", "netns", "exec", self.head_ns, *map(str, argv)], env={**os.environ, **(env or {})},
            capture_output=True, text=True, timeout=timeout, **kw,
        )  # fmt: skip

    def background(self, argv: list, *, env: dict, log: str) -> subprocess.Popen:
        """A client in the head's namespace, in the background, its output in logs/LOG.log."""
        with (self.root / "logs" / f"{log}.log").open("ab") as out:
            return subprocess.Popen(
                ["ip", "netns", "exec", self.head_ns, *map(str, argv)], env={**os.environ, **env}, cwd=PROJECT,
                stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def python(self, code: str, *, env: dict | None = None, check: bool = False) -> subprocess.CompletedProcess:
        done = self.run([sys.executable, "-c", code], env=env, timeout=120)
        if check and done.returncode:
            pytest.fail(f"in the head's namespace: {done.stderr[-2000:]}")
        return done

    def bucket(self) -> list[str]:
        """Every key in the bucket."""
        done = self.python(_LIST_BUCKET, env=self.keys, check=True)
        return json.loads(done.stdout)

    def logs(self) -> str:
        """The last lines of every log, for a failure's message."""
        parts = []
        for path in sorted((self.root / "logs").glob("*.log")):
            parts.append(f"--- {path.name}\n" + path.read_text(errors="replace")[-1500:])
        return "\n".join(parts)


def available() -> str | None:
    """Why this machine cannot build the cluster (not root, no `ip` or `unshare`), or None."""
    if os.geteuid() != 0:
        return "needs root (network and mount namespaces)"
    missing = [tool for tool in ("ip", "unshare", "pgrep") if shutil.which(tool) is None]
    return f"needs {', '.join(missing)}" if missing else None
