"""Joining or starting the Ray cluster: the address answers, token authentication is on, a local one binds 127.0.0.1.

`check_address` is Ray-free and runs before `ray.init` (which otherwise retries for minutes): the environment has
not switched Ray's token authentication off, and a `HOST:PORT` address answers a TCP connection to the head's GCS
port (`auto` and no address are Ray's to resolve and are not dialled).

`init_ray` is the one place the project calls `ray.init`. What Ray 2.60 does on its own, measured on this
machine: a local `ray.init()` turns token authentication on (and writes `~/.ray/auth_token` if missing) but its
GCS, raylet, object manager and workers listen on every interface (`::`); a head started by the `ray start`
CLI and `ray.cluster_utils.Cluster` turn it on only when `RAY_AUTH_MODE=token` (or, for the CLI, a token file)
is there, and otherwise accept any client; joining an explicit `HOST:PORT` never turns it on for the driver.
`init_ray` therefore

- turns token authentication on for this process and its children (`RAY_AUTH_MODE=token`) and refuses an
  environment that switched it off (`RAY_AUTH_MODE=disabled`, for instance left over from Ray's own warning that
  says how to opt out), unless `allow_unauthenticated=True` or `AUXLSTM_ALLOW_RAY_WITHOUT_AUTH=1`: without it
  anyone who reaches the cluster's ports runs code as this user;
- starts a local cluster of its own (never one already running here) on 127.0.0.1 only. Ray has no bind-address
  option: its servers listen on loopback when the node's IP is loopback, on every interface otherwise, and
  `ray.init` rewrites a loopback `_node_ip_address` to the
  machine's outward IP unless multi-node support is off (`RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`, the mode Ray
  runs in by default on macOS and Windows). `init_ray` switches that mode on for a local cluster (and for
  joining a loopback address, so `127.0.0.1:PORT` is not rewritten either) and checks afterwards that every
  listening socket of the processes it started is on loopback;
- for a local cluster with no token yet, writes `~/.ray/auth_token` itself before `ray.init`, owner-only (0600)
  from the moment it exists and in Ray's format (Ray reuses it; its own would be 0644, readable by every local
  user, from the moment `ray.init` writes it); an existing token file is made owner-only. Joining a cluster never
  creates a token: it needs that cluster's;
- joins any other address as given. A multi-node head listens on every interface: that is what the user asked
  for by starting one, and the token is what guards it;
- ships the project's packages (data, models, study, tuning) to every worker of a cluster it joins beyond this
  machine, through Ray's `runtime_env` (`py_modules`): a node where the project is not installed runs trials all
  the same (the libraries it needs, torch and Ray, must be there). A driver started by `ray job submit` with a
  `--working-dir` or `py_modules` of its own already ships them, and gets nothing more;
- calls `ray.init` from the folder holding the project's packages: Ray puts the driver's current folder first on
  every worker's import path (and starts a local cluster's processes in it), where a `data/` or `models/` of the
  user's would stand in for the project's packages, as with `python -m` (study.run.shadowing). Workers get only
  absolute paths, since a cluster's nodes share no current folder.

Not covered here: torch's TCPStore, the rendezvous of a multi-worker Ray Train run, listens on every interface
without authentication while the run lasts (measured; torch has no option to bind it elsewhere).
"""

from __future__ import annotations

import os
import secrets
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from tuning.sockets import beyond_loopback, descendants, is_loopback

TIMEOUT_S = 10.0
LOOPBACK = "127.0.0.1"
AUTH_MODE_ENV = "RAY_AUTH_MODE"
ALLOW_NO_AUTH_ENV = "AUXLSTM_ALLOW_RAY_WITHOUT_AUTH"
PROJECT_ROOT = Path(__file__).resolve().parents[1]  # the folder holding data/, models/, study/, tuning/
SINGLE_MACHINE_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": node IP = loopback, Ray's servers bind it


class ClusterError(RuntimeError):
    """Ray cannot be used as asked (no answer, authentication off, a server beyond loopback); the message says why."""


def _opted_out(allow_unauthenticated: bool) -> bool:
    return allow_unauthenticated or os.environ.get(ALLOW_NO_AUTH_ENV, "").strip().lower() in ("1", "true", "yes")


def check_token_auth(allow_unauthenticated: bool = False) -> bool:
    """Whether Ray's token authentication will be on; raises when the environment switched it off (no opt-out)."""
    mode = os.environ.get(AUTH_MODE_ENV)
    if mode is None or mode.strip().lower() == "token":
        return True
    if _opted_out(allow_unauthenticated):
        return False
    raise ClusterError(
        f"{AUTH_MODE_ENV}={mode} switches Ray's token authentication off: anyone who can reach the cluster's ports "
        f"could run code as this user. Unset it (a local cluster then creates ~/.ray/auth_token; every node of a "
        f"cluster needs that token or RAY_AUTH_TOKEN), or set {ALLOW_NO_AUTH_ENV}=1 to run without it anyway"
    )


def require_token_auth(allow_unauthenticated: bool = False) -> bool:
    """Turn token authentication on for this process and the processes it starts (see `check_token_auth`)."""
    if not check_token_auth(allow_unauthenticated):
        print(f"warning: Ray runs without token authentication ({AUTH_MODE_ENV}={os.environ[AUTH_MODE_ENV]}, "
              "opted out)", file=sys.stderr, flush=True)  # fmt: skip
        return False
    if os.environ.get(AUTH_MODE_ENV) != "token":
        os.environ[AUTH_MODE_ENV] = "token"
        from ray._raylet import Config

        Config.initialize("")  # Ray caches the mode in its config: refresh it, as ray.init itself does
    return True


def single_machine(on: bool = True) -> None:
    """Ray's single-machine mode (on) binds a node whose IP is 127.0.0.1 to loopback; off restores the default."""
    from ray._private import ray_constants

    if on:
        os.environ[SINGLE_MACHINE_ENV] = "0"  # for the processes started from here (drivers joining 127.0.0.1)
        ray_constants.ENABLE_RAY_CLUSTER = False  # read at import: this process
    elif os.environ.get(SINGLE_MACHINE_ENV) == "0":
        del os.environ[SINGLE_MACHINE_ENV]
        ray_constants.ENABLE_RAY_CLUSTER = not ray_constants.IS_WINDOWS_OR_OSX


def _split(address: str) -> tuple[str, str]:
    host_port = address.split("://", 1)[-1]
    host, _, port = host_port.rpartition(":")
    return host, port


def check_address(address: str | None, timeout_s: float = TIMEOUT_S) -> None:
    check_token_auth()
    if not address or address in ("auto", "local"):
        return
    host, port = _split(address)
    if not host or not port.isdigit():
        raise ClusterError(f"--address {address!r}: expected HOST:PORT (the head node's GCS, port 6379 by default)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            return
    except OSError as err:
        raise ClusterError(
            f"no Ray cluster answers at {address} ({err}); start one there with "
            "`RAY_AUTH_MODE=token ray start --head` (README: Run on a Ray cluster), check the host and port, or leave "
            "--address out for a local cluster"
        ) from err


# -- storage ------------------------------------------------------------------------------------------------------

SHARED_STORAGE_FLAG = "--shared-storage"
_LOCAL_SCHEMES = ("", "file", "local")  # a plain path, file://, and Ray's own name for the local filesystem


class StorageError(ValueError):
    """Trial storage that the cluster's other nodes cannot reach; the message names the flag and the fix."""


def node_local(storage: str) -> bool:
    """Whether `storage` is a path on this machine's disk (no scheme, `file://`, or a Windows drive), not a URI of
    a filesystem every node reaches through pyarrow (`s3://`, `gs://`, `hdfs://`, `abfs://`, ...)."""
    scheme = urlsplit(str(storage)).scheme.lower()
    return scheme in _LOCAL_SCHEMES or len(scheme) == 1


def check_storage(storage: str, address: str | None, *, shared: bool = False) -> None:
    """Refuse, before Ray starts, a node-local `storage` for a cluster the run joins (`address` or `RAY_ADDRESS`):
    a trial placed on another node would die after its first epoch ("Unable to set up cluster storage"). A local
    cluster of the run's own (no address, `local`) always has it; `shared=True` is the user's word that the path is
    mounted at the same place on every node (NFS, or a cluster of one node). Ray-free and no dialling."""
    target = _target(address)
    if target is None or shared or not node_local(storage):
        return
    joined = f"--address {address}" if address else f"RAY_ADDRESS={target}"
    raise StorageError(
        f"--storage {storage} is a path on this machine's disk, but {joined} joins a Ray cluster whose other nodes "
        f"cannot reach it: their trials would fail after the first epoch (Ray: \"Unable to set up cluster "
        f"storage\"). Give --storage a URI every node reaches (s3://BUCKET/PREFIX, gs://BUCKET/PREFIX), or a path "
        f"every node mounts at the same place (NFS) together with {SHARED_STORAGE_FLAG}; on a cluster of one node, "
        f"add {SHARED_STORAGE_FLAG}; or leave the address out (and unset RAY_ADDRESS) for a local cluster"
    )


def node_process_ids(node) -> list[int]:
    """The processes a Ray node started (GCS, raylet, agents, monitors) and their children (workers)."""
    pids = [info.process.pid for infos in node.all_processes.values() for info in infos if info.process]
    return descendants(pids)


# -- ray.init ------------------------------------------------------------------------------------------------------


def _auth_error(err: BaseException) -> str | None:
    """What Ray said about the token, if that is why `ray.init` failed (a wrong token reaches the driver only as
    text: Ray formats the GCS client's AuthenticationError into the RuntimeError behind its ConnectionError)."""
    from ray.exceptions import AuthenticationError

    seen: BaseException | None = err
    while seen is not None:
        text = str(seen)
        if isinstance(seen, AuthenticationError):
            return text.split(". ")[0].strip()
        for marker in ("AuthenticationError: ", "InvalidAuthToken"):
            if marker in text:
                return text[text.index(marker) :].splitlines()[0].split(". ")[0].strip()
        seen = seen.__cause__ or seen.__context__
    return None


def _target(address: str | None) -> str | None:
    """The cluster to join (None: start a local one); `RAY_ADDRESS` (a Ray job's driver) counts as given."""
    address = address or os.environ.get("RAY_ADDRESS") or None
    if address == "local":
        return None
    return address


def _joins_loopback(target: str) -> bool:
    if target == "auto":
        from ray._private.utils import read_ray_address

        target = read_ray_address() or ""
    return is_loopback(_split(target)[0])


def _default_token_path() -> str:
    return os.path.join(os.path.expanduser("~"), ".ray", "auth_token")  # Ray's: Path.home() / ".ray" / "auth_token"


def _new_token() -> str:
    try:
        from ray._private.authentication.authentication_token_generator import generate_new_authentication_token
    except ImportError:  # moved: Ray 2.60's format, 256 random bits as 64 hex digits
        return secrets.token_hex(32)
    return generate_new_authentication_token()


def _create_token_file() -> None:
    """Write ~/.ray/auth_token, owner-only from the start, when a local `ray.init` would write one.

    Ray's test (`ensure_token_if_auth_enabled`) is `AuthenticationTokenLoader.has_token`: no token in RAY_AUTH_TOKEN,
    in the file RAY_AUTH_TOKEN_PATH names (it raises when that names none) or in ~/.ray/auth_token. Ray then writes
    the file with `open(path, "w")`, 0644 under the usual umask, and otherwise uses the one there as it is."""
    from ray._raylet import AuthenticationTokenLoader
    from ray.exceptions import AuthenticationError

    loader = AuthenticationTokenLoader.instance()
    try:
        if loader.has_token(ignore_auth_mode=True):
            return
    except AuthenticationError:
        return  # RAY_AUTH_TOKEN_PATH names no token: ray.init says so
    path = _default_token_path()
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)  # the mode applies when it is created here
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    except FileExistsError:
        return  # empty, or another process just wrote it: `_owner_only_token_file` makes it owner-only
    try:
        with os.fdopen(fd, "w") as token_file:
            token_file.write(_new_token())  # no newline, as Ray writes it (its loader trims whitespace anyway)
    except BaseException:
        os.unlink(path)
        raise
    loader.reset_cache()  # as Ray does after writing it


def _owner_only_token_file() -> None:
    """A token file that already exists (Ray reads it as it is) readable by its owner only: Ray 2.60 writes
    ~/.ray/auth_token 0644, readable by every local user."""
    path = _default_token_path()
    try:
        if os.stat(path).st_mode & 0o077:
            os.chmod(path, 0o600)
    except OSError:
        pass  # no token file (RAY_AUTH_TOKEN, or RAY_AUTH_TOKEN_PATH elsewhere), or not ours to change


def _absolute_paths(kwargs: dict) -> dict:
    """`ray.init`'s path arguments made absolute against the caller's folder: `_temp_dir` and a runtime_env's
    `working_dir` (a local path; a URI is left alone)."""
    kwargs = dict(kwargs)
    if kwargs.get("_temp_dir"):
        kwargs["_temp_dir"] = os.path.abspath(kwargs["_temp_dir"])
    env = kwargs.get("runtime_env")
    if isinstance(env, dict) and env.get("working_dir") and "://" not in str(env["working_dir"]):
        kwargs["runtime_env"] = {**env, "working_dir": os.path.abspath(env["working_dir"])}
    return kwargs


@contextmanager
def _in_project_folder() -> Iterator[None]:
    """The current folder is the project's while the block runs (`ray.init`: see the module's docstring). The
    current folder is the process's: call `init_ray` before starting threads that resolve relative paths."""
    here = os.getcwd()
    os.chdir(PROJECT_ROOT)
    try:
        yield
    finally:
        os.chdir(here)


PACKAGES = ("data", "models", "study", "tuning")
JOB_CONFIG_ENV = "RAY_JOB_CONFIG_JSON_ENV_VAR"  # what Ray's job manager gives the driver of a submitted job


def job_runtime_env() -> dict:
    """The runtime_env a `ray job submit` driver was started with ({} outside a job)."""
    import json

    try:
        return json.loads(os.environ.get(JOB_CONFIG_ENV) or "{}").get("runtime_env") or {}
    except ValueError:
        return {}


def _with_code(kwargs: dict) -> dict:
    """`ray.init`'s arguments with the project's packages shipped to the cluster's workers (see the docstring)."""
    job = job_runtime_env()
    env = dict(kwargs.get("runtime_env") or {})
    if job.get("working_dir") or job.get("py_modules") or env.get("py_modules"):
        return kwargs
    env["py_modules"] = [str(PROJECT_ROOT / package) for package in PACKAGES]
    env["excludes"] = [*env.get("excludes", []), "__pycache__", "*.pyc"]
    return {**kwargs, "runtime_env": env}


def init_ray(address: str | None = None, *, allow_unauthenticated: bool = False, **kwargs) -> None:
    """`ray.init` with token authentication on; no address (and no RAY_ADDRESS) starts a cluster on 127.0.0.1.

    `address`: None or "local" starts a local cluster, "auto" joins the one `ray start` left on this machine,
    `HOST:PORT` joins that head. `kwargs` go to `ray.init` (`num_cpus`, `include_dashboard`, `log_to_driver`...).
    Does nothing more when Ray is already initialised in this process. Raises `ClusterError` when the environment
    switched authentication off (see `check_token_auth`; checked first, even then), when the cluster refuses this
    process's token or it has none, and when a local cluster's server listens beyond loopback (it is shut down).
    """
    import ray

    if ray.is_initialized():
        check_token_auth(allow_unauthenticated)
        return
    authenticated = require_token_auth(allow_unauthenticated)
    target = _target(address)
    local = target is None
    this_machine = local or _joins_loopback(target)  # reads Ray's address file for `auto`: once
    single_machine(this_machine)
    where = "a local Ray cluster" if local else f"the Ray cluster at {target}"
    if local and authenticated:
        _create_token_file()  # before Ray would write it world-readable; joining needs that cluster's token
    _owner_only_token_file()
    kwargs = _absolute_paths(kwargs)  # before the change of folder, which would move a relative one
    if not this_machine:
        kwargs = _with_code(kwargs)
    try:
        with _in_project_folder():
            if local:
                ray.init(address="local", _node_ip_address=LOOPBACK, **kwargs)
            else:
                ray.init(address=target, **kwargs)
    except Exception as err:
        refused = _auth_error(err)
        if refused is None:
            raise
        raise ClusterError(
            f"{where} refused this process's Ray token, or it has none ({refused}); every node and driver needs "
            "the cluster's token: ~/.ray/auth_token (`ray get-auth-token --generate` on the head, then copy it) "
            "or RAY_AUTH_TOKEN"
        ) from err
    _owner_only_token_file()  # in case another process wrote it meanwhile
    if not local:
        return
    node = ray._private.worker._global_node
    if node.node_ip_address != LOOPBACK:
        ray.shutdown()
        raise ClusterError(f"{where} took the node IP {node.node_ip_address}, not {LOOPBACK}; it was shut down")
    if os.path.isdir("/proc/self/fd"):
        exposed = beyond_loopback([*node_process_ids(node), os.getpid()])
        if exposed:
            ray.shutdown()
            raise ClusterError(f"{where} listened beyond loopback {exposed} (address, port, pid); it was shut down")
