"""The sweep's storage check: a resumed sweep is judged on the storage it started with, and on whether it was
declared shared then (`--shared-storage` is start-only and kept in sweep.json)."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import pytest

from study.driver.command import Stop, check_storage_reach


def _args(**given) -> argparse.Namespace:
    return argparse.Namespace(**{"storage": None, "address": None, "shared_storage": False, "resume": False, **given})


@pytest.fixture(autouse=True)
def _no_ray_address(monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)


def test_a_new_sweep_joining_a_cluster_is_refused_its_default_storage_and_let_through_when_shared():
    sweep = SimpleNamespace(data={"name": "s"}, path=Path("/work/sweeps/s"))
    with pytest.raises(Stop) as stop:
        check_storage_reach(_args(address="10.0.0.5:6379"), sweep)
    assert stop.value.code == 2 and str(stop.value).startswith("storage error: --storage /work/sweeps/s/ray is a path")
    check_storage_reach(_args(address="10.0.0.5:6379", shared_storage=True), sweep)
    check_storage_reach(_args(address="10.0.0.5:6379", storage="s3://bucket/sweeps"), sweep)
    check_storage_reach(_args(), sweep)  # a local cluster of its own


def test_a_resumed_sweep_keeps_its_storage_and_its_word_that_the_storage_is_shared():
    shared = SimpleNamespace(data={"name": "s", "storage": "/nfs/s/ray", "shared_storage": True}, path=Path("x"))
    check_storage_reach(_args(address="auto", resume=True), shared)
    local = SimpleNamespace(data={"name": "s", "storage": "/work/sweeps/s/ray"}, path=Path("x"))
    with pytest.raises(Stop, match="sweep s keeps the storage it started with") as stop:
        check_storage_reach(_args(address="auto", resume=True), local)
    assert stop.value.code == 2 and "--storage /work/sweeps/s/ray" in str(stop.value)
