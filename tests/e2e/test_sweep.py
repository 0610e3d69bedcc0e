"""`python -m study.sweep` on a real Ray cluster with real MLflow stores (SQLite and a tracking server).

Every sweep runs as its own driver process joined to the session's two-node cluster, as a user would run it;
what it leaves behind is read back through MLflow's client, Optuna's storage and the sweep's results table.
"""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from study.export import main as export_main
from study.report import main as report_main
from study.run.config import load_config
from study.train import main as train_main
from tests.e2e.helpers import TINY, optuna_states, results, runs, sweep, write_spec
from tests.helpers import free_port, run_before_ray

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def smoke(ray_cluster, tmp_path_factory):
    """The default study's smoke sweep (3 trials: r-LSTM, p-LSTM and the LSTM), logged to SQLite."""
    cwd = tmp_path_factory.mktemp("smoke")
    result = sweep(cwd, ray_cluster, "--smoke-test", "--name", "smoke")
    assert result.returncode == 0, result.stderr[-3000:]
    return cwd, result


def test_smoke_sweep_logs_one_parent_and_three_nested_children_to_sqlite(smoke):
    cwd, result = smoke
    uri = f"sqlite:///{cwd / 'mlflow.db'}"
    assert f"mlflow ui --host 127.0.0.1 --port 5000 --backend-store-uri {uri}" in result.stdout
    assert "best trial" in result.stdout and "exports:" in result.stdout
    assert f"report: {cwd / 'sweeps' / 'smoke' / 'report' / 'report.md'} (and on the MLflow parent" in result.stdout
    parents, children = runs(uri, "auxlstm-default")
    assert len(parents) == 1 and len(children) == 3
    parent = parents[0]
    experiment = parent.info.experiment_id
    assert f"http://127.0.0.1:5000/#/experiments/{experiment}/runs?workflowType=machine_learning" in result.stdout
    client = MlflowClient(uri)
    kinds = set()
    assert sorted(c.info.run_name[:5] for c in children) == ["0001 ", "0002 ", "0003 "]
    for child in children:
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == "FINISHED"
        for tag in ("auxlstm.spec_hash", "auxlstm.git_commit", "auxlstm.data_checksum", "auxlstm.command",
                    "auxlstm.version.torch", "auxlstm.study"):  # fmt: skip
            assert child.data.tags[tag], tag
        assert child.data.tags["auxlstm.command"].startswith("python -m study.train --config ")
        params = child.data.params
        assert params["data.image_size"] == "10" and params["data.limit_train"] == "256"
        kinds.add(params["model.kind"])
        assert child.info.run_name.split()[1] == params["model.kind"] and len(child.info.run_name) <= 40
        assert child.data.tags["auxlstm.scientific"].split()[0] == params["model.kind"]  # the study's scientific keys
        assert len(child.data.tags["auxlstm.config_group"]) == 8
        if params["model.kind"] == "lstm":  # only the keys its kind reads
            assert not [k for k in params if k.startswith("aux.")] and "train.truncation" in params
        else:
            assert "aux.weight" in params
        history = client.get_metric_history(child.info.run_id, "val/accuracy")
        epochs = int(float(params.get("aux.pretrain_epochs", 0))) + 1
        assert [m.step for m in history] == list(range(1, epochs + 1))
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"config.yaml", "history.json", "metrics.json"} <= artifacts
    assert kinds == {"lstm", "r_lstm", "p_lstm"}  # the spec's three first points
    sweep_dir = cwd / "sweeps" / "smoke"
    assert optuna_states(sweep_dir, "smoke") == ["COMPLETE"] * 3
    rows = json.loads((sweep_dir / "results.json").read_text())
    assert [r["status"] for r in rows] == ["COMPLETE"] * 3
    assert {r["mlflow_run_id"] for r in rows} == {c.info.run_id for c in children}
    assert all(Path(r["checkpoint"]).is_dir() for r in rows)
    _assert_the_parent_tells_the_sweep(client, parent.info.run_id, trials=3)
    assert (sweep_dir / "report" / "report.md").is_file()  # written by the sweep itself


def _assert_the_parent_tells_the_sweep(client: MlflowClient, run_id: str, trials: int) -> None:
    """Best val/accuracy so far and the counts at steps 1..trials (each once), the sweep's times, its files."""
    best = client.get_metric_history(run_id, "best/val/accuracy")
    steps = [m.step for m in best]
    assert steps == sorted(set(steps)) and steps[-1] == trials and set(steps) <= set(range(1, trials + 1))
    values = [m.value for m in sorted(best, key=lambda m: m.step)]
    assert values == sorted(values)  # max: never falls
    complete = sorted((m.step, m.value) for m in client.get_metric_history(run_id, "trials/complete"))
    assert [step for step, _ in complete] == list(range(1, trials + 1)) and complete[-1][1] == trials
    for name in ("trials/stopped", "trials/failed", "trials/pruned"):
        assert [m.step for m in client.get_metric_history(run_id, name)] == list(range(1, trials + 1)), name
    for name in ("sweep/wall_seconds", "sweep/trial_seconds", "sweep/mean_trial_seconds"):
        (point,) = client.get_metric_history(run_id, name)
        assert point.step == trials and point.value > 0, name
    listed = {a.path for top in ("", "export", "report") for a in client.list_artifacts(run_id, top)}
    assert {"spec.yaml", "results.json", "export/summary.md", "export/configs", "report/report.md"} <= listed
    assert any(p.endswith(".png") for p in listed)


def test_export_reproduces_the_exported_trials_config_through_study_train(smoke, tmp_path, capsys):
    cwd, _ = smoke
    sweep_dir = cwd / "sweeps" / "smoke"
    assert export_main(["--sweep", str(sweep_dir), "--top-k", "2", "--out", str(tmp_path / "export")]) == 0
    summary = json.loads((tmp_path / "export" / "summary.json").read_text())
    assert len(summary["top"]) == 2 and summary["data_checksum"].startswith("mnist:")
    objectives = [e["objective"] for e in summary["top"]]
    assert objectives == sorted(objectives, reverse=True)  # best val/accuracy first
    best = summary["top"][0]
    assert best["mlflow_run_id"] and best["checkpoint"] and "val/accuracy" in best["metrics"]
    trial_config = (sweep_dir / "configs" / f"{best['trial_id']}.yaml").read_text()
    out = tmp_path / "again"
    data_dir = json.loads((sweep_dir / "sweep.json").read_text())["data_dir"]
    assert train_main(["--config", best["config_file"], "--out", str(out), "--data-dir", data_dir]) == 0
    assert (out / "config.yaml").read_text() == trial_config
    assert load_config(out / "config.yaml") == load_config(best["config_file"])
    assert "| 1 |" in (tmp_path / "export" / "summary.md").read_text()


def test_the_report_of_a_real_sweep_lists_its_trials_and_lands_in_the_parent_run(smoke):
    cwd, _ = smoke
    sweep_dir = cwd / "sweeps" / "smoke"
    assert report_main(["--sweep", str(sweep_dir), "--top-k", "3"]) == 0
    report = (sweep_dir / "report" / "report.md").read_text()
    rows = json.loads((sweep_dir / "results.json").read_text())
    best = max((r for r in rows if r["status"] == "COMPLETE"), key=lambda r: r["metrics"]["val/accuracy"])
    assert f"| {best['trial_id']} |" in report.split("## Best configurations")[1].splitlines()[4]  # ranked first
    assert {"r-LSTM Truncate1", "p-LSTM Truncate1", "LSTM Full BP"} <= {c.strip() for c in report.split("|")}
    assert (sweep_dir / "report" / "learning_curves.png").read_bytes()[:4] == b"\x89PNG"
    parents, _ = runs(f"sqlite:///{cwd / 'mlflow.db'}", "auxlstm-default")
    client = MlflowClient(f"sqlite:///{cwd / 'mlflow.db'}")
    logged = {a.path for a in client.list_artifacts(parents[0].info.run_id, "report")}
    assert {"report/report.md", "report/learning_curves.png"} <= logged


def test_an_unreachable_tracking_server_stops_the_sweep_before_ray_naming_it(tmp_path):
    # Fast by construction: a 5 s health check, before Ray (which would retry for minutes) is even imported.
    uri = f"http://127.0.0.1:{free_port()}"
    spec = write_spec(tmp_path, "nowhere")
    result = run_before_ray(tmp_path, "study.sweep", "--study", str(spec), "--tracking-uri", uri)
    assert result.returncode == 1 and uri in result.stderr
    assert result.stdout.splitlines()[-1] == "[]", "Ray was imported before the tracking server was checked"
    assert not (tmp_path / "sweeps").exists()


@pytest.mark.parametrize("cli", ["study.sweep", "study.train"])
def test_an_unreachable_ray_address_stops_the_run_before_ray_naming_it(cli, tmp_path):
    # Fast by construction: a TCP check of the address (10 s at most), before Ray (which would retry for minutes).
    address = f"127.0.0.1:{free_port()}"
    args = ["--address", address, "--shared-storage", "--smoke-test"]  # past the storage check, to the address
    study = ["--study", str(write_spec(tmp_path, "noray"))]
    args += study if cli == "study.sweep" else ["--workers", "2", "--out", "run"]
    result = run_before_ray(tmp_path, cli, *args)
    assert result.returncode == 1 and f"no Ray cluster answers at {address}" in result.stderr
    assert result.stdout.splitlines()[-1] == "[]", "Ray was imported before the address was checked"
    assert not (tmp_path / "sweeps").exists() and not (tmp_path / "run").exists()


def test_a_node_local_storage_for_a_joined_cluster_is_refused_before_ray_and_before_dialling(tmp_path):
    # study.train --workers; the sweep's refusal: tests/cluster (nodes that share no disk) and the bad-input corpus.
    # Nothing listens at the address: the refusal (exit 2) comes before the address is even dialled (exit 1).
    address = f"127.0.0.1:{free_port()}"
    args = ["--address", address, "--smoke-test", "--workers", "2", "--out", "run"]
    result = run_before_ray(tmp_path, "study.train", *args)
    assert result.returncode == 2, result.stderr
    assert "storage error: --storage run/ray" in result.stderr and f"--address {address} joins" in result.stderr
    assert "--shared-storage" in result.stderr and "s3://BUCKET/PREFIX" in result.stderr
    assert result.stdout.splitlines()[-1] == "[]", "Ray was imported before the storage was checked"
    assert not (tmp_path / "run").exists()
    shared = run_before_ray(tmp_path, "study.train", *args, "--shared-storage")  # the user's word: on to the address
    assert shared.returncode == 1 and f"no Ray cluster answers at {address}" in shared.stderr


def test_a_multi_objective_sweep_reports_its_pareto_set(ray_cluster, tmp_path):
    objectives = [{"metric": "val/accuracy", "mode": "max"}, {"metric": "epoch_seconds", "mode": "min"}]
    spec = write_spec(tmp_path, "pareto", trials=3, objectives=objectives)
    result = sweep(tmp_path, ray_cluster, "--study", str(spec), "--name", "mo")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Pareto set (val/accuracy max, epoch_seconds min)" in result.stdout
    sweep_dir = tmp_path / "sweeps" / "mo"
    study = optuna.load_study(study_name="mo", storage=f"sqlite:///{sweep_dir / 'optuna.db'}")
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert all(t.state.name == "COMPLETE" and len(t.values) == 2 for t in study.trials)
    summary = json.loads((sweep_dir / "export" / "summary.json").read_text())
    ours = sorted((e["metrics"]["val/accuracy"], e["metrics"]["epoch_seconds"]) for e in summary["pareto"])
    assert ours and ours == sorted(tuple(t.values) for t in study.best_trials)  # the same front as Optuna's


def test_seeds_re_run_the_best_configs_ranked_by_bound_and_a_later_sweep_warm_starts_from_it(ray_cluster, tmp_path):
    spec = write_spec(tmp_path, "seeded", trials=2, space={**TINY["space"], "fixed": {**TINY["space"]["fixed"],
                 "train.epochs": 1}})  # fmt: skip
    result = sweep(tmp_path, ray_cluster, "--study", str(spec), "--name", "seeded", "--seeds", "2", "--top-k", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    sweep_dir = tmp_path / "sweeps" / "seeded"
    rows = results(sweep_dir)
    originals = [r for r in rows if "seed_of" not in r["params"]]
    (rerun,) = [r for r in rows if "seed_of" in r["params"]]
    best = max(originals, key=lambda r: r["metrics"]["val/accuracy"])
    assert rerun["params"]["seed_of"] == best["trial_id"] and rerun["status"] == "COMPLETE"
    assert rerun["config"]["train.seed"] == best["config"]["train.seed"] + 1
    assert {k: v for k, v in rerun["config"].items() if k != "train.seed"} == {
        k: v for k, v in best["config"].items() if k != "train.seed"}  # fmt: skip
    _, children = runs(f"sqlite:///{tmp_path / 'mlflow.db'}", "auxlstm-seeded")
    assert len(children) == 3
    assert [c.data.tags.get("auxlstm.seed_of") for c in children].count(best["trial_id"]) == 1
    groups = {c.data.tags["auxlstm.trial_id"]: c.data.tags["auxlstm.config_group"] for c in children}
    assert groups[rerun["trial_id"]] == groups[best["trial_id"]] and len(set(groups.values())) == 2  # by seed only
    assert "seed-robust ranking by the one-sided 95 % lower bound of val/accuracy" in result.stdout
    summary = json.loads((sweep_dir / "export" / "summary.json").read_text())
    (top,) = summary["top"]
    values = [best["metrics"]["val/accuracy"], rerun["metrics"]["val/accuracy"]]
    assert summary["ranked_by"] == "seed bound" and top["trial_id"] == best["trial_id"] and top["seeds"] == 2
    assert top["mean"] == pytest.approx(sum(values) / 2) and top["bound"] <= top["mean"]

    # The same for the finished sweep: one more seed for its best configuration.
    result = sweep(tmp_path, ray_cluster, "--name", "seeded", "--seeds", "3", "--top-k", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    reruns = [r for r in results(sweep_dir) if "seed_of" in r["params"]]
    assert sorted(r["config"]["train.seed"] for r in reruns) == [1, 2] and len(results(sweep_dir)) == 4
    assert json.loads((sweep_dir / "export" / "summary.json").read_text())["top"][0]["seeds"] == 3

    # A new sweep warm-started from it, racing seeds: its Optuna study begins with the earlier finished trials,
    # and its one configuration, the incumbent, earns its second seed in the race's first round.
    result = sweep(tmp_path, ray_cluster, "--study", str(spec), "--name", "warm", "--trials", "1",
                    "--warm-start", "seeded", "--race", "2")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "warm start: 2 finished trial(s) of seeded fit this space; 0 do not" in result.stdout
    warm = optuna.load_study(study_name="warm", storage=f"sqlite:///{tmp_path / 'sweeps' / 'warm' / 'optuna.db'}")
    earlier = optuna.load_study(study_name="seeded", storage=f"sqlite:///{sweep_dir / 'optuna.db'}")
    added = [t for t in warm.trials if "warm_start_from" in t.user_attrs]
    assert sorted((t.params["train.lr"], t.value) for t in added) == sorted(
        (t.params["train.lr"], t.value) for t in earlier.trials)  # fmt: skip
    assert len(warm.trials) == 3  # one trial of its own; the race's re-run stays out of the Optuna study
    own, raced = sorted(results(tmp_path / "sweeps" / "warm"), key=lambda r: "seed_of" in r["params"])
    assert raced["params"]["seed_of"] == own["trial_id"] and raced["status"] == "COMPLETE"
    assert raced["config"]["train.seed"] == own["config"]["train.seed"] + 1
    assert "sweep: race round 1: 1 re-run(s) of 1 configuration(s), up to 2 runs each" in result.stdout
    assert ("race: 1 re-run(s) (1 trial-epochs) of 1 configuration(s) in 1 round(s), up to 2 runs each; --seeds 2 "
            "--top-k 3 would have run 3 (3 trial-epochs)") in result.stdout  # fmt: skip
    _, children = runs(f"sqlite:///{tmp_path / 'mlflow.db'}", "auxlstm-seeded")  # the study's experiment
    tags = {c.data.tags["auxlstm.trial_id"]: c.data.tags for c in children}
    assert len(tags) == 4 + 2 and tags[raced["trial_id"]]["auxlstm.seed_of"] == own["trial_id"]  # seeded: 4 runs
    assert tags[raced["trial_id"]]["auxlstm.config_group"] == tags[own["trial_id"]]["auxlstm.config_group"]
    (top,) = json.loads((tmp_path / "sweeps" / "warm" / "export" / "summary.json").read_text())["top"]
    assert top["seeds"] == 2 and top["seed_trials"] == [own["trial_id"], raced["trial_id"]]
    race = json.loads((tmp_path / "sweeps" / "warm" / "sweep.json").read_text())["race"]
    assert race == {"seeds": 2, "top_k": 3, "rounds": 1}  # the round's points are gone once it ended


def test_trials_predicted_over_the_memory_budget_are_pruned_before_they_start(ray_cluster, tmp_path):
    # A model in which only the auxiliary decoder costs memory: every r-LSTM is far over the budget.
    peak = {"target": "peak_memory_mb", "device": "cpu", "names": ["supervised", "auxiliary", "decoder", "logits",
            "attention", "tokens"], "intercept": 10.0, "coef": [0, 0, 1e6, 0, 0, 0], "relative_error": 0.1, "runs": 9}
    (tmp_path / "model.json").write_text(json.dumps({"train": peak, "eval": None}))  # fmt: skip
    spec = write_spec(tmp_path, "budget", trials=3, space={**TINY["space"], "fixed": {**TINY["space"]["fixed"],
                 "train.epochs": 1}})  # fmt: skip
    result = sweep(tmp_path, ray_cluster, "--study", str(spec), "--name", "budget", "--memory-budget-mb", "500",
                    "--memory-model", str(tmp_path / "model.json"))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = results(tmp_path / "sweeps" / "budget")
    pruned = [r for r in rows if r["status"] == "PRUNED"]
    ran = [r for r in rows if r["status"] != "PRUNED"]
    assert pruned and all(r["params"]["model.kind"] == "r_lstm" for r in pruned)
    assert all(r["reason"].startswith("predicted training peak") and "over the memory budget of 500 MB" in r["reason"]
               for r in pruned)  # fmt: skip
    assert len(ran) == 3 and all(r["params"]["model.kind"] == "lstm" and r["status"] == "COMPLETE" for r in ran)
    assert all(r["predicted_peak_memory_mb"] == [10.0, 8.0] for r in ran)  # 10 MB, the error floored at 8 MB
    assert not any(r.get("history") for r in pruned)  # nothing trained
    trial_dirs = [p.name for p in (tmp_path / "sweeps" / "budget" / "ray" / "budget").iterdir() if p.is_dir()]
    assert len([d for d in trial_dirs if d.startswith("sweep_trial")]) == 3  # no Tune trial for a pruned one
    study = optuna.load_study(study_name="budget", storage=f"sqlite:///{tmp_path / 'sweeps/budget/optuna.db'}")
    states = [t for t in study.trials if t.state.name == "PRUNED"]
    assert len(states) == len(pruned) and all("over the memory budget" in t.user_attrs["pruned_reason"] for t in states)
    # Taught to TPE as infeasible by the predicted overshoot (tuning.failure_feedback): far over 500 MB here.
    assert all(t.constraints["memory_mb"] > 1000 for t in states)
    _, children = runs(f"sqlite:///{tmp_path / 'mlflow.db'}", "auxlstm-budget")
    killed = [c for c in children if c.info.status == "KILLED"]
    assert len(killed) == len(pruned) and all(c.data.tags["auxlstm.status"] == "PRUNED" for c in killed)
    assert f"{len(pruned)} pruned" in result.stdout

    # A study of exact points runs them and nothing else: a refused point is not replaced by a sampled one.
    points = [{"model.kind": "lstm", "train.lr": 0.003}, {"model.kind": "r_lstm", "train.lr": 0.003}]
    spec = write_spec(tmp_path, "exact", points=points, space={**TINY["space"], "fixed": {**TINY["space"]["fixed"],
                 "train.epochs": 1}})  # fmt: skip
    result = sweep(tmp_path, ray_cluster, "--study", str(spec), "--name", "exact", "--memory-budget-mb", "500",
                    "--memory-model", str(tmp_path / "model.json"))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted((r["params"]["model.kind"], r["status"]) for r in results(tmp_path / "sweeps" / "exact")) == [
        ("lstm", "COMPLETE"), ("r_lstm", "PRUNED")]  # fmt: skip
    assert "unfinished" not in result.stdout and "pruned before it started: pruned-1" in result.stdout
