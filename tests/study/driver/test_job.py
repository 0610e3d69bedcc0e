"""How a trial is described to MLflow: params only for the keys its kind reads (the results table keeps the whole
config), a group tag equal across seeds, its scientific values, and a short run name numbered in start order."""

from __future__ import annotations

from pathlib import Path

import pytest

from study.driver.job import TrialJob
from study.results.table import ResultsTable
from study.spec.parse import parse_study
from tests.study.spec.samples import VALID
from tuning.naming import CONFIG_GROUP_TAG, SCIENTIFIC_TAG

NUISANCE = {k: v for k, v in VALID["space"]["nuisance"].items() if k != "train.truncation"}
STUDY = parse_study({**VALID, "space": {**VALID["space"], "nuisance": NUISANCE, "scientific": {
    **VALID["space"]["scientific"], "train.truncation": {"int": [25, 196]}}}})  # fmt: skip
LSTM = {"model.kind": "lstm", "train.truncation": 50, "train.lr": 0.003}


def _job(tmp_path) -> TrialJob:
    return TrialJob(study=STUDY, data_dir=str(tmp_path), sweep_dir=str(tmp_path))


def test_a_plain_lstms_run_gets_no_auxiliary_params_but_the_table_keeps_them(tmp_path):
    described = _job(tmp_path).describe("a", LSTM)
    assert not [k for k in described["params"] if k.startswith("aux.")]
    assert {"train.truncation", "train.lr", "data.name", "model.d_hidden"} <= set(described["params"])
    assert "aux.weight" in described["config"] and described["config"]["train.truncation"] == 50


def test_the_transformers_run_gets_no_truncation_and_an_r_lstms_gets_its_auxiliary_params(tmp_path):
    job = _job(tmp_path)
    transformer = job.describe("t", {"model.kind": "transformer", "train.lr": 0.003})["params"]
    assert "train.truncation" not in transformer and "model.transformer_layers" in transformer
    assert not [k for k in transformer if k.startswith("aux.")]
    r_lstm = job.describe("r", {**LSTM, "model.kind": "r_lstm", "aux.weight": 0.5})["params"]
    assert r_lstm["aux.weight"] == 0.5 and "aux.teacher_forcing" in r_lstm and "model.transformer_layers" not in r_lstm


def test_the_config_group_is_equal_across_seeds_only_and_the_scientific_tag_names_the_values(tmp_path):
    job = _job(tmp_path)
    tags = job.describe("a", LSTM)["tags"]
    rerun = job.describe("b", {**LSTM, "train.seed": 3, "seed_of": "a"})["tags"]
    other = job.describe("c", {**LSTM, "train.lr": 0.004})["tags"]
    assert rerun[CONFIG_GROUP_TAG] == tags[CONFIG_GROUP_TAG] != other[CONFIG_GROUP_TAG]
    assert tags[SCIENTIFIC_TAG] == "lstm train.truncation=50"
    assert job.describe("t", {"model.kind": "transformer"})["tags"][SCIENTIFIC_TAG] == "transformer"


def test_run_names_are_numbered_in_the_order_trials_started(tmp_path):
    job = _job(tmp_path)
    table = ResultsTable(tmp_path)
    assert job.describe("first", LSTM)["run_name"] == "0001 lstm trunc=50 lr=0.003"
    table.update("first", status="RUNNING")
    table.update("second", status="RUNNING")
    assert job.describe("third", LSTM)["run_name"].startswith("0003 lstm")
    assert job.describe("first", LSTM)["run_name"].startswith("0001 lstm")  # described again: the same number


def test_a_trial_reads_the_drivers_shipped_data_on_its_node_and_fails_on_other_data_naming_both(tmp_path, monkeypatch):
    import pyarrow.fs

    from data import default_data_dir
    from data.shipping import shipped_name, upload
    from study.driver.job import DataMismatch
    from study.run.provenance import data_checksum
    from tuning.storage import Storage

    driver_data = default_data_dir()
    cfg = STUDY.config_for(LSTM)
    checksum = data_checksum(cfg.data, driver_data)
    store = Storage(str(tmp_path / "bucket"))
    upload(driver_data / cfg.data.name, pyarrow.fs.LocalFileSystem(), store.join(shipped_name("mnist", checksum)).uri)
    monkeypatch.setenv("AUXLSTM_DATA_DIR", str(tmp_path / "node"))  # the node's own cache, empty
    job = TrialJob(study=STUDY, data_dir="/nowhere", sweep_dir=str(tmp_path), data_checksums=f"mnist:{checksum}",
                   data_store=store)  # fmt: skip
    here, read = job.data_here(cfg, Path("/nowhere"))
    assert read == checksum and here == tmp_path / "node" / "shipped" / shipped_name("mnist", checksum)
    other = TrialJob(study=STUDY, data_dir=str(driver_data), sweep_dir=str(tmp_path), data_checksums=f"mnist:{0:064}")
    with pytest.raises(DataMismatch, match=f"checksum {checksum[:16]}, but the sweep's driver prepared 0{{16}}"):
        other.data_here(cfg, driver_data)
