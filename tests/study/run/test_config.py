"""The typed config tree: YAML + dotted overrides, and refusal of anything that cannot run, naming the key."""

from __future__ import annotations

import pytest

from study.run.config import ConfigError, RunConfig, config_from_dict, dump_yaml, load_config, parse_override
from study.spec.files import CONFIGS_DIR

CONFIGS = sorted(CONFIGS_DIR.glob("*.yaml"))


def test_defaults_are_the_paper_settings():
    cfg = load_config(None)
    assert (cfg.model.kind, cfg.model.d_embed, cfg.model.d_hidden) == ("r_lstm", 128, 128)
    assert (cfg.aux.segment_len, cfg.aux.truncation, cfg.aux.anchors, cfg.aux.weight) == (600, 300, 1, 1.0)
    assert (cfg.train.truncation, cfg.train.optimizer, cfg.train.lr, cfg.data.batch_size) == (300, "rmsprop", 1e-3, 128)


def test_yaml_and_overrides_compose(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("model: {kind: p_lstm}\ntrain: {truncation: 50, lr: 0.01}\n")
    cfg = load_config(path, ["train.lr=1e-3", "train.truncation=null", "aux.weight=2", "data.name=pmnist"])
    assert cfg.model.kind == "p_lstm"
    assert cfg.train.lr == 1e-3 and isinstance(cfg.train.lr, float)
    assert cfg.train.truncation is None
    assert cfg.aux.weight == 2.0 and isinstance(cfg.aux.weight, float)
    assert cfg.data.name == "pmnist"


def test_resolved_config_round_trips_through_yaml(tmp_path):
    cfg = load_config(None, ["model.kind=lstm", "data.image_size=14", "aux.segment_len=100"])
    path = tmp_path / "config.yaml"
    path.write_text(dump_yaml(cfg))
    assert load_config(path) == cfg


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        (["model.kindd=lstm"], "model.kindd"),
        (["optim.lr=1"], "optim"),
        (["model.kind=gru"], "model.kind"),
        (["train.epochs=2.5"], "train.epochs"),
        (["train.epochs=true"], "train.epochs"),
        (["train.lr=fast"], "train.lr"),
        (["train.truncation=0"], "train.truncation"),
        (["train.truncation=-3"], "train.truncation"),
        (["aux.anchors=0"], "aux.anchors"),
        (["aux.segment_len=784"], "aux.segment_len"),  # longer than fits before/after an anchor in 784 steps
        (["data.image_size=14", "aux.segment_len=600"], "aux.segment_len"),
        (["aux.segment_len=1"], "aux.segment_len"),
        (["aux.truncation=0"], "aux.truncation"),
        (["aux.decoder_truncation=0"], "aux.decoder_truncation"),
        (["model.kind=p_lstm", "aux.teacher_forcing=false"], "aux.teacher_forcing"),
        (["model.kind=p_lstm", "aux.segment_offset=random"], "aux.segment_offset"),
        (["aux.segment_offset=far"], "aux.segment_offset"),
        (["model.kind=transformer"], "train.truncation"),  # nothing recurrent to truncate
        (["model.kind=transformer", "train.truncation=null", "model.transformer_heads=3"], "model.transformer_heads"),
        (["model.dropconnect=1.0"], "model.dropconnect"),
        (["data.name=cifar11"], "data.name"),
        (["data.batch_size=0"], "data.batch_size"),
        (["train.supervised_grad=none"], "train.supervised_grad"),
        (["model=3"], "model"),
        (["train.lr"], "train.lr"),
    ],
)
def test_bad_values_are_refused_naming_the_key(overrides, key):
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_config(None, overrides)


def test_aux_settings_are_not_checked_for_kinds_without_an_auxiliary_loss():
    cfg = load_config(None, ["model.kind=lstm", "data.image_size=14"])  # the default segment 600 > 196 steps
    assert cfg.aux.segment_len == 600


def test_malformed_files_are_refused_naming_the_file(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml"):
        load_config(bad)
    listing = tmp_path / "list.yaml"
    listing.write_text("- model\n")
    with pytest.raises(ConfigError, match=r"list\.yaml"):
        load_config(listing)
    with pytest.raises(ConfigError, match=r"missing\.yaml"):
        load_config(tmp_path / "missing.yaml")


def test_override_parsing():
    assert parse_override("train.lr=1e-3") == ("train.lr", 1e-3)
    assert parse_override("train.truncation=null") == ("train.truncation", None)
    assert parse_override("model.kind=lstm") == ("model.kind", "lstm")
    with pytest.raises(ConfigError, match=r"dotted\.key=value"):
        parse_override("nonsense")


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_shipped_configs_are_valid(path):
    assert isinstance(load_config(path), RunConfig)
    assert isinstance(load_config(path, ["data.name=pmnist"]), RunConfig)


def test_table2_rows_have_configs():
    names = {p.stem for p in CONFIGS}
    for row in (
        "lstm_full_bp",
        "lstm_truncate300",
        "transformer",
        "r_lstm_truncate300",
        "p_lstm_truncate300",
        "r_lstm_full_bp",
        "p_lstm_full_bp",
    ):
        assert f"table2_{row}" in names


def test_config_from_dict_does_not_mutate_its_input():
    raw = {"train": {"lr": 0.1}}
    config_from_dict(raw, ["train.lr=0.2"])
    assert raw == {"train": {"lr": 0.1}}


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"model": {"kind": "gru"}}, "model.kind: expected 'lstm' | 'r_lstm' | 'p_lstm' | 'transformer', got 'gru'"),
        ({"model": {"kind": 5}}, "model.kind: expected 'lstm' | 'r_lstm' | 'p_lstm' | 'transformer', got 5"),
        ({"model": {"kind": "gru", "d_hidden": "x"}}, "model.kind: expected"),  # the kind first, as it is given
    ],
)
def test_the_model_kind_is_one_of_the_registrys_named_as_the_config_is_read(tree, message):
    from study.run.config import check_keys

    with pytest.raises(ConfigError, match=message.replace("|", r"\|")):
        check_keys(tree)  # while the tree is read, before any cross-field check


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["model.kind=transformer", "train.truncation=null", "train.checkpoint_chunk=4"],
         "train.checkpoint_chunk: applies to the LSTM kinds, not model.kind transformer"),
        (["model.kind=transformer", "train.truncation=null", "train.supervised_grad=head_only"],
         "train.supervised_grad: head_only needs an LSTM model.kind"),
        (["model.kind=transformer", "train.truncation=10"],
         "train.truncation: must be null for model.kind transformer"),
        (["model.kind=p_lstm", "aux.teacher_forcing=false"], "aux.teacher_forcing: false only applies to r_lstm"),
        (["model.kind=p_lstm", "aux.segment_offset=random"], "aux.segment_offset: random only applies to r_lstm"),
        (["model.kind=transformer", "model.transformer_heads=3", "train.truncation=null"],
         "model.transformer_heads: must divide model.d_embed"),
        (["model.kind=transformer", "model.transformer_heads=3", "train.truncation=null", "data.name=nope"],
         "data.name: 'nope' is not one of"),  # the data's checks come before the Transformer's
    ],
)  # fmt: skip
def test_kind_specific_settings_are_refused_for_the_kinds_that_do_not_read_them(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, ["data.name=mnist", "aux.segment_len=100", *overrides])
