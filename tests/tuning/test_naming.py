"""What MLflow shows of a sweep: run names that sort and stay short, a tag that groups a configuration's seeds, and
the URL of a sweep's runs table in model-training mode."""

from __future__ import annotations

from tuning.naming import MAX_RUN_NAME, config_group, runs_url, trial_run_name

SAMPLED = {"model.kind": "r_lstm", "aux.weight": 0.3123, "aux.segment_len": 64, "train.truncation": 14,
           "train.lr": 0.003123}  # fmt: skip


def test_run_names_start_with_the_zero_padded_number_and_kind_then_the_scientific_values_first():
    assert (
        trial_run_name(3, SAMPLED, first=["model.kind", "train.truncation"]) == "0003 r_lstm trunc=14 aux_w=0.31 seg=64"
    )
    names = [trial_run_name(n, SAMPLED) for n in (12, 3, 101)]
    assert sorted(names) == [trial_run_name(n, SAMPLED) for n in (3, 12, 101)]  # text order is trial order


def test_run_names_stay_short_show_a_re_runs_seed_and_name_full_bptt():
    long = {**SAMPLED, **{f"model.key_{i}": 123456 for i in range(10)}}
    assert all(len(trial_run_name(n, long)) <= MAX_RUN_NAME for n in (1, 9999))
    rerun = {**SAMPLED, "train.seed": 2, "seed_of": "1a2b3c4d"}
    assert trial_run_name(5, rerun, first=["model.kind"]).startswith("0005 r_lstm seed=2 ")
    assert "1a2b3c4d" not in trial_run_name(5, rerun)
    assert trial_run_name(1, {"model.kind": "lstm", "train.truncation": None}) == "0001 lstm trunc=full"


def test_the_config_group_ignores_the_seed_and_nothing_else():
    config = {"model.kind": "lstm", "train.lr": 0.01, "train.seed": 0}
    group = config_group(config)
    assert len(group) == 8 and set(group) <= set("0123456789abcdef")
    assert config_group({**config, "train.seed": 7}) == group
    assert config_group(dict(reversed(config.items()))) == group  # order does not matter
    assert config_group({**config, "train.lr": 0.02}) != group


def test_the_runs_url_opens_the_model_training_table_on_the_server_or_the_local_ui():
    page = "#/experiments/7/runs?workflowType=machine_learning"
    assert runs_url("sqlite:////tmp/mlflow.db", "7") == f"http://127.0.0.1:5000/{page}"
    assert runs_url("sqlite:////tmp/mlflow.db", "7", port=5001) == f"http://127.0.0.1:5001/{page}"
    assert runs_url("http://alice:pw@10.1.2.3:5000/", "7") == f"http://10.1.2.3:5000/{page}"  # no credentials
