"""The default memory budget of a GPU study: this machine's GPU where the trials run here, none on a cluster the
driver joins (its GPU need not be the workers'), and always what the user gives."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from study.driver.setup import memory_setup
from study.spec.parse import parse_study
from tests.study.spec.samples import VALID

GPU_STUDY = parse_study({**VALID, "resources": {"cpus": 1, "gpus": 0.5}})


@pytest.fixture
def a_gpu_here(monkeypatch):
    """This machine has one 80 GiB GPU (as far as the budget is concerned)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_device_properties", lambda index: SimpleNamespace(total_memory=80 * 2**30))


def test_a_local_gpu_sweep_takes_its_share_of_this_machines_gpu(a_gpu_here, capsys):
    setup = memory_setup(GPU_STUDY, {}, None, None)
    assert setup.budget_mb == pytest.approx(80 * 1024 * 0.5)


def test_a_gpu_sweep_joining_a_cluster_gets_no_budget_from_the_drivers_gpu_but_keeps_the_users(a_gpu_here, capsys):
    setup = memory_setup(GPU_STUDY, {}, None, None, joins_cluster=True)
    assert setup.budget_mb is None and setup.model is not None
    assert "no default budget on a cluster" in capsys.readouterr().out
    assert memory_setup(GPU_STUDY, {}, None, 30_000.0, joins_cluster=True).budget_mb == 30_000.0
