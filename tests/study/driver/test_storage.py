"""The sweep's storage check: a resumed sweep is judged on the storage it started with, and on whether it was
declared shared then (`--shared-storage` is start-only and kept in sweep.json)."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace

import pytest

from study.driver.command import Stop, check_storage_reach
from study.driver.placement import state_refusal, storage_of
from tuning.storage import Storage


def _args(**given) -> argparse.Namespace:
    given = {"storage": None, "storage_endpoint": None, "address": None, "shared_storage": False, "resume": False,
             "sweeps_dir": Path("sweeps"), "tracking_uri": None, **given}  # fmt: skip
    return argparse.Namespace(**given)


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


def test_an_endpoint_goes_with_an_s3_storage_only_and_may_come_from_awss_variable(monkeypatch):
    sweep = SimpleNamespace(data={"name": "s"}, path=Path("/work/sweeps/s"))
    with pytest.raises(Stop, match="storage error: --storage-endpoint http://h:9000 is for an s3:// storage") as stop:
        check_storage_reach(_args(storage="gs://bucket/x", storage_endpoint="http://h:9000"), sweep)
    assert stop.value.code == 2
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://minio:9000")
    assert storage_of(_args(storage="s3://bucket/x"), {}, "unused").endpoint == "http://minio:9000"
    assert storage_of(_args(storage="/shared/x"), {}, "unused").endpoint is None  # the variable is for S3 only
    kept = {"storage": "s3://bucket/y", "storage_endpoint": "http://first:9000"}
    assert storage_of(_args(), kept, "unused") == Storage("s3://bucket/y", "http://first:9000")  # a resume's own


JOB = '{"runtime_env": {"working_dir": "gcs://_ray_pkg_0123.zip"}}'


def test_a_submitted_driver_may_not_keep_its_state_in_rays_temporary_copy_of_its_folder(monkeypatch, tmp_path):
    here = tmp_path / "runtime_resources" / "working_dir_files" / "_ray_pkg_0123"
    here.mkdir(parents=True)
    monkeypatch.chdir(here)
    default = _args(sweeps_dir=Path("sweeps"), tracking_uri=None)
    assert state_refusal(default, {}) is None  # not a submitted job
    monkeypatch.setenv("RAY_JOB_CONFIG_JSON_ENV_VAR", JOB)
    refused = state_refusal(default, {})
    assert "--sweeps-dir sweeps and --tracking-uri" in refused and str(here) in refused and "outlives" in refused
    persistent = _args(sweeps_dir=tmp_path / "kept", tracking_uri="http://127.0.0.1:5000")
    assert state_refusal(persistent, {}) is None
    only_sweeps = state_refusal(_args(sweeps_dir=Path("s"), tracking_uri="http://h:1"), {})
    assert "would keep the sweep's state there" in only_sweeps and "--sweeps-dir s would" in only_sweeps
