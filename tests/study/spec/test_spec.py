"""Study specs: malformed ones are refused naming their key; the space samples only valid configs."""

from __future__ import annotations

import copy
from pathlib import Path

import optuna
import pytest
import yaml

from models import MODELS
from models.loop import fit
from study.reporting.paper import method_of
from study.run.config import ConfigError, flatten
from study.spec.definition import EPOCH_METRICS, SpecError
from study.spec.files import SPECS_DIR, read_spec
from study.spec.parse import load_study, parse_study
from tests.helpers import run_before_ray
from tests.study.spec.samples import VALID


def _with(path: str, value) -> dict:
    """VALID with one key (a/b/c path) set, or deleted when value is ...; '/' separates levels."""
    spec = copy.deepcopy(VALID)
    *parents, leaf = path.split("/")
    node = spec
    for part in parents:
        node = node[part]
    if value is ...:
        del node[leaf]
    else:
        node[leaf] = value
    return spec


MALFORMED = [
    (_with("trails", 5), "trails"),
    (_with("name", "has space"), "name"),
    (_with("space/scientific/model.kindd", {"choice": ["lstm"]}), "model.kindd"),
    (_with("space/nuisance/aux.weight", {"float": [0.1]}), "space.nuisance.aux.weight"),
    (_with("space/nuisance/aux.weight", {"float": [3.0, 0.1]}), "space.nuisance.aux.weight"),
    (_with("space/nuisance/aux.weight", {"float": [0.0, 1.0], "log": True}), "space.nuisance.aux.weight.log"),
    (_with("space/nuisance/aux.weight", {"float": [0.1, 1.0], "choice": [1]}), "space.nuisance.aux.weight"),
    (_with("space/nuisance/aux.anchors", {"int": [1.5, 4]}), "space.nuisance.aux.anchors"),
    (_with("space/scientific/model.kind", {"choice": []}), "space.scientific.model.kind"),
    (_with("space/scientific/model.kind", {"choice": ["lstm", "gru"]}), "model.kind"),
    (_with("space/nuisance/aux.segment_len", {"int": [25, 196]}), "aux.segment_len"),  # no room before/after
    (_with("space/nuisance/train.truncation", {"int": [25, 400]}), "train.truncation"),  # longer than 196 steps
    (_with("space/nuisance/aux.truncation", {"int": [10, 300]}), "aux.truncation"),
    (_with("space/nuisance/train.lr", {"float": [-1.0, 1e-2]}), "train.lr"),
    (_with("space/fixed/train.lr", 1e-3), "train.lr"),  # both searched and fixed
    (_with("space/fixed/data.limit_train", "many"), "data.limit_train"),
    (_with("space/bogus", {}), "space.bogus"),
    (_with("space", {"fixed": {"train.lr": 1e-3}}), "space"),  # nothing to search
    (_with("objective", {"metric": "val/acc", "mode": "max"}), "objective.metric"),
    (_with("objective", {"metric": "val/accuracy", "mode": "up"}), "objective.mode"),
    (_with("objective", {"metric": "test_accuracy", "mode": "max"}), "objective.metric"),
    ({**_with("objective", ...), "objectives": [{"metric": "val/accuracy", "mode": "max"},
                                                {"metric": "peak_memory_mb", "mode": "min"}],
      "scheduler": {"kind": "asha"}}, "scheduler.kind"),
    (_with("scheduler", {"kind": "hyperband"}), "scheduler.kind"),
    (_with("scheduler", {"grace_period": 9}), "scheduler.grace_period"),
    (_with("scheduler", {"reduction_factor": 1}), "scheduler.reduction_factor"),
    (_with("resources", {"gpus": 1.5}), "resources.gpus"),
    (_with("resources", {"workers": 0}), "resources.workers"),
    (_with("resources", {"cpus": 0}), "resources.cpus"),
    (_with("resources", {"tpus": 1}), "resources.tpus"),
    (_with("space/scientific/resources.workers", {"int": [1, 4]}), "space.scientific.resources.workers"),
    (_with("space/scientific/resources.workers", {"choice": [1, 0]}), "space.scientific.resources.workers"),
    (_with("space/scientific/resources.cpus", {"choice": [1, 2]}), "resources.cpus"),
    (_with("trials", 0), "trials"),
    (_with("concurrency", "2"), "concurrency"),
    (_with("base", {"model": {"knd": "lstm"}}), "model.knd"),
    (_with("space/nuisance/train.lr", {"float": [1e-4, 1e-2], "when": {"model.knd": ["lstm"]}}),
     "space.nuisance.train.lr.when.model.knd"),
    (_with("points", [{"aux.weight": 50.0}]), "points[0].aux.weight"),
    (_with("points", [{"data.name": "pmnist"}]), "points[0].data.name"),
    (_with("space/fixed/data.validation", "none"), "objective.metric"),  # no validation split to optimise
]


@pytest.mark.parametrize(("spec", "key"), MALFORMED, ids=[k for _, k in MALFORMED])
def test_malformed_spec_is_refused_naming_its_key(spec, key):
    with pytest.raises(SpecError) as err:
        parse_study(spec)
    assert key in str(err.value)


def test_the_valid_spec_parses():
    study = parse_study(VALID)
    assert study.trials == 6 and study.concurrency == 2 and study.scheduler.kind == "asha"
    assert study.space.params[0].key == "model.kind"


def test_cli_refuses_a_bad_spec_before_ray_starts(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(yaml.safe_dump(_with("space/nuisance/train.truncation", {"int": [25, 400]})))
    result = run_before_ray(tmp_path, "study.sweep", "--study", str(spec), "--sweeps-dir", str(tmp_path / "sweeps"))
    assert result.returncode == 2
    assert "space.nuisance.train.truncation" in result.stderr
    assert result.stdout.strip() == "[]"  # Ray was never imported, let alone started
    assert not (tmp_path / "sweeps").exists() and not (tmp_path / "mlflow.db").exists()


def test_500_samples_build_valid_configs_and_aux_keys_only_for_auxiliary_kinds():
    study = parse_study(VALID)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    optuna_study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0, n_startup_trials=100))
    kinds = set()
    for i in range(500):
        trial = optuna_study.ask()
        study.space(trial)
        params = trial.params
        cfg = study.config_for(params)  # raises ConfigError if invalid
        kinds.add(cfg.model.kind)
        has_aux = any(k.startswith("aux.") for k in params)
        assert has_aux == bool(MODELS[params["model.kind"]].auxiliary), params
        if params["model.kind"] == "transformer":
            assert "train.truncation" not in params and cfg.train.truncation is None
        optuna_study.tell(trial, float(i % 7))
    assert kinds == {"lstm", "r_lstm", "p_lstm", "transformer"}


def test_explicit_when_conditions_a_parameter_on_another():
    spec = _with("space/nuisance/train.lr", {"float": [1e-4, 1e-2], "log": True, "when": {"model.kind": ["lstm"]}})
    study = parse_study(spec)
    optuna_study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen = set()
    for _ in range(60):
        trial = optuna_study.ask()
        study.space(trial)
        assert ("train.lr" in trial.params) == (trial.params["model.kind"] == "lstm")
        seen.add("train.lr" in trial.params)
        optuna_study.tell(trial, 0.0)
    assert seen == {True, False}


def test_first_point_defaults_to_the_base_values_and_set_fixes_a_searched_key():
    study = parse_study(VALID)
    assert study.points == ({
        "model.kind": "r_lstm", "aux.weight": 1.0, "aux.segment_len": 100, "aux.truncation": 50, "aux.anchors": 1,
        "train.truncation": 50, "train.lr": 1e-3,
    },)  # fmt: skip
    outside = parse_study(_with("space/nuisance/train.lr", {"float": [1e-2, 1e-1]}))
    assert "train.lr" not in outside.points[0]  # a base value outside the range is sampled instead
    fixed = parse_study(VALID, ["model.kind=lstm", "train.epochs=2"])
    assert "model.kind" not in [p.key for p in fixed.space.params]
    assert fixed.config_for({}).model.kind == "lstm" and fixed.config_for({}).train.epochs == 2
    with pytest.raises(SpecError, match="--set bogus"):
        parse_study(VALID, ["bogus=1"])


def test_spec_points_that_disagree_with_a_set_key_are_dropped_and_keys_they_leave_out_take_base_values():
    spec = {**VALID, "points": [{"model.kind": "lstm"}, {"model.kind": "r_lstm", "aux.weight": 0.5}]}
    study = parse_study(spec, ["model.kind=r_lstm"])
    base = {"aux.segment_len": 100, "aux.truncation": 50, "aux.anchors": 1, "train.truncation": 50, "train.lr": 1e-3}
    assert study.points == ({"aux.weight": 0.5, **base},)  # not values Optuna would sample for them


def test_smoke_shrinks_epochs_data_and_trials():
    study = parse_study(VALID, smoke=True)
    cfg = study.config_for({})
    assert (cfg.train.epochs, cfg.data.limit_train, cfg.data.limit_eval, study.trials) == (1, 256, 256, 3)
    assert cfg.aux.pretrain_epochs == 0  # the base had none; smoke never adds any
    default = load_study("default", smoke=True)
    assert default.trials == 3 and default.points == load_study("default").points[:3]  # no point left waiting


def test_objective_metrics_are_what_an_epoch_reports():
    import torch

    from models import AuxConfig, ModelConfig, TrainConfig, build_model

    model = build_model(ModelConfig(kind="r_lstm", d_embed=4, d_hidden=4, d_ffn=4), AuxConfig(segment_len=3),
                        vocab_size=8, num_classes=2, seq_len=8)  # fmt: skip
    tokens, labels = torch.randint(0, 8, (4, 8)), torch.randint(0, 2, (4,))
    reported = []
    fit(model, train_batches=lambda g: [(tokens, labels, None)], val_batches=lambda: [(tokens, labels, None)],
        train=TrainConfig(epochs=1, truncation=3), aux=AuxConfig(segment_len=3, pretrain_epochs=0),
        device=torch.device("cpu"), on_epoch=reported.append)  # fmt: skip
    assert set(EPOCH_METRICS) <= reported[0].keys()
    assert reported[0]["supervised_epoch"] == 1


SHIPPED = [(p, scale) for p in sorted(SPECS_DIR.glob("*.yaml")) for scale in (None, *read_spec(p).get("scales", {}))]


@pytest.mark.parametrize(("path", "scale"), SHIPPED, ids=lambda x: getattr(x, "stem", x))
def test_shipped_specs_parse_at_every_scale_and_sample_valid_configs(path, scale):
    study = load_study(str(path), scale=scale)
    assert study.name == (path.stem if scale is None else f"{path.stem}-{scale}") and study.points
    assert scale is None or study.description.startswith(f"[scale {scale}] ")
    for point in study.points:
        study.config_for(point)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(20):
        trial = sampler.ask()
        study.space(trial)
        study.config_for(trial.params)  # raises ConfigError if invalid
        sampler.tell(trial, 0.0)
    assert read_spec(path)["base"], "the base config is inlined"


def test_a_cpu_scale_fixes_its_keys_replaces_ranges_and_drops_what_it_contradicts():
    gpu, cpu = load_study("paper-table2"), load_study("paper-table2", scale="cpu")
    assert (gpu.trials, cpu.trials) == (63, 21)  # 3 datasets x (6 LSTM rows + Transformer) x 3 seeds / 1 seed
    assert {p["data.name"] for p in gpu.points} == {"mnist", "pmnist", "cifar10"}
    assert {p["data.name"] for p in cpu.points} == {"mnist", "pmnist", "fashion_mnist"}
    cfg = cpu.config_for(cpu.points[0])
    assert (cfg.data.image_size, cfg.train.epochs, cfg.train.seed, cfg.data.limit_train) == (14, 2, 0, 2000)
    assert "train.seed" not in [p.key for p in cpu.space.params]  # fixed by the scale: no longer searched
    assert {p.get("train.truncation", "none") for p in cpu.points} == {None, 50, "none"}  # Transformer: no key
    # An explicit --set still wins over the scale's values.
    assert load_study("paper-table2", ["train.epochs=5"], scale="cpu").config_for({}).train.epochs == 5


@pytest.mark.parametrize("scale", [None, "cpu"])
def test_scaling_length_runs_checkpointed_full_bptt_at_every_lstm_length(scale):
    study = load_study("scaling-length", scale=scale)
    configs = [study.config_for(p) for p in study.points]
    full = {c.data.image_size for c in configs if c.model.kind == "lstm" and c.train.truncation is None}
    checkpointed = [c for c in configs if c.train.checkpoint_chunk is not None]
    assert all(c.model.kind == "lstm" and c.train.truncation is None for c in checkpointed)
    assert sorted(c.data.image_size for c in checkpointed) == sorted(full) == sorted({
        c.data.image_size for c in configs if c.model.kind != "transformer"})  # fmt: skip
    assert {method_of(flatten(c)) for c in checkpointed} == {"LSTM Full BP, checkpointed"}
    # Sampled points set the chunk only where it is valid: full BPTT of an LSTM kind.
    sampler = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    chunks = set()
    for _ in range(100):
        trial = sampler.ask()
        study.space(trial)
        cfg = study.config_for(trial.params)
        if "train.checkpoint_chunk" in trial.params:
            assert cfg.train.truncation is None and cfg.model.kind != "transformer", trial.params
            chunks.add(cfg.train.checkpoint_chunk)
        sampler.tell(trial, 0.0)
    assert chunks == {None, "sqrt"}
    # Full BPTT fixed from the command line: the Transformer points stay valid (no chunk for them).
    assert load_study("scaling-length", ["train.truncation=null"], scale=scale).points


def test_an_unknown_scale_is_named_with_the_known_ones():
    with pytest.raises(SpecError, match=r"--scale: study 'paper-table2' has no scale 'tpu'; its scales: cpu, offline"):
        load_study("paper-table2", scale="tpu")
    with pytest.raises(SpecError, match=r"scales\.cpu\.objective: unknown"):
        parse_study({**VALID, "scales": {"cpu": {"objective": {"metric": "val/loss", "mode": "min"}}}})


def test_a_grid_of_points_is_every_combination_once():
    spec = {**VALID, "points": {"grid": ["model.kind", "train.truncation"]}}
    spec["space"] = copy.deepcopy(VALID["space"])
    spec["space"]["scientific"] = {"model.kind": {"choice": ["lstm", "transformer"]},
                                   "train.truncation": {"choice": [None, 50]}}  # fmt: skip
    del spec["space"]["nuisance"]["train.truncation"]
    study = parse_study(spec)
    # The Transformer has no truncation: its two combinations are one point.
    assert [p.get("train.truncation", "-") for p in study.points] == [None, 50, "-"]
    with pytest.raises(SpecError, match=r"points\.grid: 'train\.lr' is not a searched choice parameter"):
        parse_study({**spec, "points": {"grid": ["train.lr"]}})


def test_searched_workers_decide_each_trials_workers_and_stay_out_of_its_config():
    spec = _with("space/scientific/resources.workers", {"choice": [1, 2, 4]})
    study = parse_study({**spec, "points": {"grid": ["resources.workers"]}, "resources": {"workers": 1}})
    assert [study.workers_for(p) for p in study.points] == [1, 2, 4] and study.max_workers == 4
    assert study.config_for(study.points[2]) == study.config_for({})  # not a config key
    assert parse_study(VALID).max_workers == 1 and parse_study(_with("resources", {"workers": 3})).workers_for({}) == 3


def test_default_study_runs_the_claims_comparison_with_three_or_more_seeds_each_and_no_trial_stopped_early():
    study = load_study("default")
    assert study.exact_points and study.scheduler.kind == "fifo" and study.trials == len(study.points)
    seeds: dict[tuple, set] = {}
    for point in study.points:
        config = flatten(study.config_for(point))
        seeds.setdefault((config["model.kind"], config["train.truncation"]), set()).add(config["train.seed"])
    assert set(seeds) == {("r_lstm", 1), ("p_lstm", 1), ("lstm", 1), ("lstm", None)}
    assert all(len(s) >= 3 for s in seeds.values())
    spent = set(range(100, 105)) | {0, 1, 2}  # choosing the setting, and its first 3-seed run (docs/default-study.md)
    assert not set().union(*seeds.values()) & spent
    assert flatten(study.config_for({}))["data.name"] == "mnist"


def test_the_former_default_is_kept_as_the_search_demo():
    study = load_study("search-demo")
    kinds = next(p.values for p in study.space.params if p.key == "model.kind")
    assert set(kinds) == {"lstm", "r_lstm", "p_lstm"} and study.trials >= 6 and study.scheduler.kind == "asha"


def test_config_error_is_the_base_of_spec_error():
    assert issubclass(SpecError, ConfigError)
    assert Path(SPECS_DIR).is_dir()


def test_a_dataset_that_cannot_be_had_is_swapped_for_its_stand_in_or_refused_naming_it(monkeypatch, tmp_path):
    import study.run.provenance
    from data import DatasetError
    from study.driver.setup import prepare_data, with_stand_ins

    missing = {"cifar10", "mnist"}

    def available_offline(data, data_dir):
        if data.name in missing:
            raise DatasetError(f"could not download {data.name}")
        return f"sum-{data.name}"

    monkeypatch.setattr(study.run.provenance, "data_checksum", available_offline)
    with pytest.raises(DatasetError, match=r"(?s)could not download cifar10.*stand-in fashion_mnist.*data\.name="):
        prepare_data(parse_study(_with("base/data/name", "cifar10")), tmp_path, stand_ins=False)
    with pytest.raises(DatasetError, match=r"^could not download mnist$"):  # no stand-in: the error as it was
        prepare_data(parse_study(VALID), tmp_path)

    missing.discard("mnist")
    spec = _with("space/scientific/data.name", {"choice": ["pmnist", "cifar10"]})
    spec["points"] = [{"data.name": "cifar10", "model.kind": "lstm"}, {"data.name": "pmnist", "model.kind": "lstm"}]
    checksums, swaps = prepare_data(parse_study(spec), tmp_path)
    assert swaps == {"cifar10": "fashion_mnist"} and checksums == (
        "fashion_mnist:sum-fashion_mnist mnist:sum-mnist pmnist:sum-pmnist"
    )
    record = {"overrides": ["train.lr=0.002"], "trials": None, "smoke": False}
    swapped = with_stand_ins(parse_study(spec), record, swaps)
    assert record["stand_ins"] == swaps and record["overrides"] == ["train.lr=0.002"]
    assert swapped.description.startswith("[stand-in: fashion_mnist stands in for cifar10, which cannot be had here]")
    assert next(p.values for p in swapped.space.params if p.key == "data.name") == ("pmnist", "fashion_mnist")
    resumed = parse_study(record["spec"], record["overrides"])  # what --resume rebuilds
    assert [p["data.name"] for p in resumed.points] == ["fashion_mnist", "pmnist"]
    record = {"overrides": ["data.name=cifar10"], "trials": None, "smoke": False}
    assert with_stand_ins(parse_study(spec, ["data.name=cifar10"]), record, swaps).config_for({}).data.name == (
        "fashion_mnist"
    )
    assert record["overrides"] == ["data.name=fashion_mnist"]


def test_without_trials_or_points_a_spec_runs_ten_trials():
    spec = {k: v for k, v in VALID.items() if k != "trials"}
    assert parse_study(spec).trials == 10


def test_a_scale_replaces_a_domain_whole_and_a_searched_validation_split_is_refused_with_a_val_objective():
    spec = {**VALID, "scales": {"small": {"space": {"nuisance": {"train.lr": {"choice": [1e-3, 3e-3]}}}}}}
    study = load_study_from(spec, "small")
    lr = next(p for p in study.space.params if p.key == "train.lr")
    assert (lr.kind, lr.values, lr.log) == ("choice", (1e-3, 3e-3), False)
    searched = _with("space/scientific/data.validation", {"choice": ["holdout", "none"]})
    with pytest.raises(SpecError, match=r"data\.validation is searched, but val/accuracy needs a validation split"):
        parse_study(searched)


def load_study_from(raw, scale):
    return parse_study(copy.deepcopy(raw), scale=scale)


def test_asha_without_a_grace_period_waits_half_a_trials_supervised_epochs():
    study = parse_study({**VALID, "scheduler": {"kind": "asha"}})  # 4 epochs
    assert (study.scheduler.kind, study.scheduler.grace_period) == ("asha", 2)
    assert parse_study({**VALID, "scheduler": {"kind": "asha", "grace_period": 1}}).scheduler.grace_period == 1
    assert parse_study(VALID, ["train.epochs=9"]).scheduler.grace_period == 4
    assert parse_study(VALID, smoke=True).scheduler.grace_period == 1  # one epoch
