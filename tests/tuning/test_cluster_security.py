"""Ray clusters the project and its tests start: token authentication on, every server on 127.0.0.1.

What a server listens on is read from the kernel (/proc/net/tcp{,6} and the processes' socket descriptors), and
authentication is proven from outside: a client with a wrong token, or none, is refused by the GCS, while the
same client with the cluster's token joins.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tuning.cluster import ALLOW_NO_AUTH_ENV, ClusterError, check_token_auth, init_ray, node_process_ids
from tuning.sockets import is_loopback, listening_sockets

ROOT = Path(__file__).resolve().parents[2]
AUTH_VARS = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
REFUSED = "Authentication token is missing or incorrect"
CLIENT = "import ray; ray.init(address={address!r}); print('joined', ray.cluster_resources().get('CPU'))"
PROJECT_CLIENT = "from tuning.cluster import init_ray; init_ray({address!r}); print('joined')"
CLIENT_S = 120  # each client driver, joined or refused
STARTUP_S = 180  # a local driver, until it has started its cluster


def _env(**changes: str | None) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def _clients(address: str, home: Path, token: str | None, code: str = CLIENT,
             names: tuple[str, ...] = ("right", "wrong", "none")) -> dict[str, subprocess.Popen]:  # fmt: skip
    """Drivers joining `address` at once: with the cluster's token, with a wrong one, and with none."""
    home.mkdir(exist_ok=True)  # no ~/.ray/auth_token there
    base = {"RAY_gcs_server_port_wait_time_s": "1", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "HOME": str(home)}
    envs = {
        "right": _env(**base, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token),
        "wrong": _env(**base, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN="0" * 64),
        "none": _env(**base, RAY_AUTH_MODE=None, RAY_AUTH_TOKEN=None, RAY_AUTH_TOKEN_PATH=None),
    }
    command = [sys.executable, "-c", code.format(address=address)]
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE}
    return {name: subprocess.Popen(command, env=envs[name], cwd=ROOT, text=True, **pipes) for name in names}


def _finish(clients: dict[str, subprocess.Popen], timeout_s: float = CLIENT_S) -> dict[str, tuple[int, str, str]]:
    """Each client's exit status, stdout and stderr, its pipes read while it runs (a client that fills one would
    otherwise wait forever); one that runs past `timeout_s` fails the test, and every client left is killed."""
    done: dict[str, tuple[int, str, str]] = {}
    for name, client in clients.items():
        try:
            out, err = client.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            for left in [n for n in clients if n not in done]:
                clients[left].kill()
                clients[left].communicate()
            pytest.fail(f"the {name!r} client ran past {timeout_s} s")
        done[name] = (client.returncode, out, err)
    return done


def _assert_only_the_token_gets_in(clients: dict[str, subprocess.Popen], cpus: float) -> None:
    done = _finish(clients)
    code, out, err = done["right"]
    assert code == 0 and f"joined {cpus}" in out, err[-2000:]
    for name in ("wrong", "none"):
        code, out, err = done[name]
        assert code != 0 and "joined" not in out and REFUSED in err, (name, err[-2000:])


def _ports(sockets) -> set[int]:
    return {port for _, port, _ in sockets}


def test_the_socket_reader_sees_loopback_and_wildcard_listeners_of_a_process():
    with socket.socket() as local, socket.socket() as everywhere, socket.socket(socket.AF_INET6) as six:
        local.bind(("127.0.0.1", 0))
        everywhere.bind(("", 0))  # INADDR_ANY
        six.bind(("::1", 0))
        for s in (local, everywhere, six):
            s.listen()
        found = {port: address for address, port, pid in listening_sockets([os.getpid()]) if pid == os.getpid()}
        assert found[local.getsockname()[1]] == "127.0.0.1" and is_loopback("127.0.0.1")
        assert found[six.getsockname()[1]] == "::1" and is_loopback("::1")
        assert not is_loopback(found[everywhere.getsockname()[1]])
    assert is_loopback("::ffff:127.0.0.1") and is_loopback("localhost")
    assert not is_loopback("::") and not is_loopback("192.0.2.2") and not is_loopback("::ffff:192.0.2.2")


@pytest.mark.parametrize("mode", ["disabled", "DISABLED", "none"])
def test_an_environment_that_switches_ray_auth_off_is_refused_unless_opted_out(mode, monkeypatch):
    monkeypatch.setenv("RAY_AUTH_MODE", mode)
    monkeypatch.delenv(ALLOW_NO_AUTH_ENV, raising=False)
    with pytest.raises(ClusterError, match=f"RAY_AUTH_MODE={mode} switches Ray's token authentication off"):
        init_ray(None, num_cpus=1)  # refused before Ray is touched, whether or not it runs in this process
    with pytest.raises(ClusterError, match=ALLOW_NO_AUTH_ENV):
        check_token_auth()
    assert check_token_auth(allow_unauthenticated=True) is False
    monkeypatch.setenv(ALLOW_NO_AUTH_ENV, "1")
    assert check_token_auth() is False
    monkeypatch.setenv("RAY_AUTH_MODE", "token")
    assert check_token_auth() is True


def test_the_clis_refuse_ray_auth_switched_off_before_anything_starts(tmp_path):
    env = _env(RAY_AUTH_MODE="disabled", **{ALLOW_NO_AUTH_ENV: None})
    runs = {}
    for cli, args in (("study.sweep", ["--study", "default"]), ("study.train", ["--workers", "2", "--out", "run"])):
        (tmp_path / cli).mkdir()
        command = [sys.executable, "-m", cli, "--address", "127.0.0.1:1", "--shared-storage", "--smoke-test", *args]
        runs[cli] = subprocess.Popen(command, cwd=tmp_path / cli, env=env, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    for cli, run in runs.items():
        _, err = run.communicate(timeout=120)
        assert run.returncode == 1, (cli, err[-2000:])
        assert "RAY_AUTH_MODE=disabled switches Ray's token authentication off" in err, (cli, err[-2000:])
        assert "no Ray cluster answers" not in err  # refused before the address is even dialled
        assert sorted(p.name for p in (tmp_path / cli).iterdir()) == [], cli  # no sweep, no run directory


@pytest.mark.slow
def test_the_test_cluster_requires_its_token_and_listens_only_on_loopback(ray_cluster, tmp_path):
    import ray
    from ray._raylet import AuthenticationMode, get_authentication_mode

    clients = _clients(ray_cluster.address, tmp_path / "home", os.environ["RAY_AUTH_TOKEN"])
    # The project's own way in, with a wrong token or none, must say so (not hang, not join).
    wrong = _clients(ray_cluster.address, tmp_path / "home", None, code=PROJECT_CLIENT, names=("wrong", "none"))
    assert get_authentication_mode() == AuthenticationMode.TOKEN
    nodes = [ray_cluster.head_node, *ray_cluster.worker_nodes]
    assert len(nodes) == 2 and {n.node_ip_address for n in nodes} == {"127.0.0.1"}
    pids = [pid for node in nodes for pid in node_process_ids(node)] + [os.getpid()]
    sockets = listening_sockets(pids)
    expected = {int(ray_cluster.address.rsplit(":", 1)[1])}  # the GCS
    for node in ray.nodes():
        expected |= {node["NodeManagerPort"], node["ObjectManagerPort"]}  # each raylet and object manager
    assert len(expected) == 5 and expected <= _ports(sockets), (expected, sockets)
    assert [s for s in sockets if not is_loopback(s[0])] == [], sockets
    _assert_only_the_token_gets_in(clients, 4.0)
    errors = {name: (code, err) for name, (code, _, err) in _finish(wrong).items()}
    for name, (code, err) in errors.items():
        assert code != 0 and "ClusterError: the Ray cluster at" in err, (name, err[-2000:])
    assert "InvalidAuthToken" in errors["wrong"][1], errors["wrong"][1][-2000:]
    assert "no authentication token was found" in errors["none"][1], errors["none"][1][-2000:]
    assert not (tmp_path / "home" / ".ray" / "auth_token").exists()  # joining never makes a token of its own


PROJECT_DRIVER = """
import json, os, sys
import ray
from tuning.cluster import init_ray, node_process_ids
from tuning.sockets import listening_sockets
from ray._raylet import AuthenticationMode, get_authentication_mode
TOKEN_FILE = os.path.join(os.path.expanduser("~"), ".ray", "auth_token")
def token_file():
    try:
        return {"mode": os.stat(TOKEN_FILE).st_mode & 0o777, "token": open(TOKEN_FILE).read(),
                "dir_mode": os.stat(os.path.dirname(TOKEN_FILE)).st_mode & 0o777}
    except FileNotFoundError:
        return None
at_init = {}
ray_init = ray.init
def init(*args, **kwargs):  # the token file as Ray finds it when it starts
    at_init["token_file"] = token_file()
    return ray_init(*args, **kwargs)
ray.init = init
if sys.argv[1] == "project":
    init_ray(None, num_cpus=1, include_dashboard=False)
else:  # what a bare ray.init() does when no other Ray runs here (with one running, it would join that one)
    ray.init(address="local", num_cpus=1, include_dashboard=False)
node = ray._private.worker._global_node
umask = os.umask(0o022)
os.umask(umask)
ports = [p for n in ray.nodes() for p in (n["NodeManagerPort"], n["ObjectManagerPort"])]
print(json.dumps({
    "gcs": node.gcs_address, "node_ip": node.node_ip_address, "ports": ports,
    "token": get_authentication_mode() == AuthenticationMode.TOKEN,
    "sockets": listening_sockets([*node_process_ids(node), os.getpid()]),
    "token_file_at_init": at_init["token_file"], "token_file": token_file(), "umask": umask,
}), flush=True)
sys.stdin.readline()
ray.shutdown()
"""


def _local_driver(how: str, home: Path) -> tuple[subprocess.Popen, dict]:
    """`python -c PROJECT_DRIVER how` from a fresh shell (no Ray settings, an empty home); what it started.

    Its stderr (Ray's logs, its workers' output) goes to a file, not to a pipe nobody reads until the end; a driver
    that has not started its cluster within STARTUP_S is killed (its Ray processes share its fate) and fails the test.
    """
    home.mkdir()
    env = _env(HOME=str(home), RAY_ADDRESS=None, **dict.fromkeys(AUTH_VARS))
    log = home.parent / f"{how}-driver.stderr"
    with open(log, "w") as stderr:
        driver = subprocess.Popen([sys.executable, "-c", PROJECT_DRIVER, how], cwd=ROOT, env=env, text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr)  # fmt: skip
    deadline = threading.Timer(STARTUP_S, driver.kill)  # readline has no timeout of its own
    deadline.start()
    try:
        line = driver.stdout.readline()
    finally:
        deadline.cancel()
    if not line:
        driver.kill()
        driver.wait()
        pytest.fail(f"the driver started no cluster within {STARTUP_S} s (exit {driver.returncode}): "
                    f"{log.read_text()[-3000:]}")  # fmt: skip
    return driver, json.loads(line)


def _stop(driver: subprocess.Popen) -> None:
    try:
        driver.stdin.write("\n")
        driver.stdin.flush()
    except OSError:  # it is gone already
        pass
    try:
        driver.wait(timeout=60)
    except subprocess.TimeoutExpired:
        driver.kill()
        driver.wait()
        raise
    finally:
        driver.stdout.close()
        driver.stdin.close()


@pytest.mark.slow
def test_the_local_cluster_the_project_starts_requires_the_token_and_listens_only_on_loopback(ray_cluster, tmp_path):
    driver, started = _local_driver("project", tmp_path / "home")
    try:
        assert started["gcs"] != ray_cluster.address  # its own cluster, not the one already running on this machine
        token_file = tmp_path / "home" / ".ray" / "auth_token"
        token = token_file.read_text()
        # The project wrote the token before Ray started, readable by this user only from the moment it existed
        # (in a ~/.ray it made 0700) and in Ray's format; Ray used it as it was, and it is the token the cluster
        # accepts below.
        assert started["token_file_at_init"] == {"mode": 0o600, "token": token, "dir_mode": 0o700}, started
        assert started["token_file"] == started["token_file_at_init"] and token_file.stat().st_mode & 0o777 == 0o600
        assert len(token) == 64 and set(token) <= set("0123456789abcdef")  # 256 random bits, as Ray writes them
        assert started["token"] and started["node_ip"] == "127.0.0.1"
        clients = _clients(started["gcs"], tmp_path / "clients", token)
        expected = {int(started["gcs"].rsplit(":", 1)[1]), *started["ports"]}
        assert len(expected) == 3 and expected <= _ports(started["sockets"]), started
        assert [s for s in started["sockets"] if not is_loopback(s[0])] == [], started["sockets"]
        _assert_only_the_token_gets_in(clients, 1.0)
    finally:
        _stop(driver)


@pytest.mark.slow
def test_a_plain_ray_init_listens_beyond_loopback_which_is_why_the_project_never_calls_it(tmp_path):
    driver, started = _local_driver("plain", tmp_path / "home")
    try:
        assert started["token"]  # Ray 2.60 turns token authentication on for a new local cluster by itself,
        # writing a token file with the umask's mode, usually readable by every local user (why the project
        # writes it first) ...
        assert started["token_file_at_init"] is None and len(started["token_file"]["token"]) == 64, started
        assert started["token_file"]["mode"] == 0o666 & ~started["umask"], started
        exposed = [s for s in started["sockets"] if not is_loopback(s[0])]
        gcs_port = int(started["gcs"].rsplit(":", 1)[1])
        assert gcs_port in _ports(exposed), started  # ... but its GCS listens on every interface
    finally:
        _stop(driver)


def test_ray_init_path_arguments_are_made_absolute_before_the_change_of_folder(tmp_path, monkeypatch):
    from tuning.cluster import _absolute_paths

    monkeypatch.chdir(tmp_path)
    made = _absolute_paths({"_temp_dir": "ray-tmp", "runtime_env": {"working_dir": "code", "pip": ["x"]},
                            "num_cpus": 2})  # fmt: skip
    assert made["_temp_dir"] == str(tmp_path / "ray-tmp") and made["num_cpus"] == 2
    assert made["runtime_env"] == {"working_dir": str(tmp_path / "code"), "pip": ["x"]}
    assert _absolute_paths({"runtime_env": {"working_dir": "s3://b/code.zip"}})["runtime_env"]["working_dir"] == (
        "s3://b/code.zip")  # fmt: skip
