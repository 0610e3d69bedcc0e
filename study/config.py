"""The one typed configuration tree: each package's frozen dataclasses composed into `RunConfig`.

Flow: dataclass defaults <- YAML file <- `--set dotted.key=value` overrides. Unknown keys, wrong types and
impossible combinations raise `ConfigError` naming the key, before any data is read or Ray is started.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from data.config import DataConfig
from models.config import AUX_KINDS, AuxConfig, ModelConfig, TrainConfig


class ConfigError(ValueError):
    """A configuration that cannot run; the message names the offending key."""


@dataclass(frozen=True)
class RunConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    aux: AuxConfig = field(default_factory=AuxConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataConfig = field(default_factory=DataConfig)


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) is Literal:
        return " | ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp)).replace("NoneType", "null")


def _coerce(tp: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        return _build(tp, value, key)
    if origin is Literal:
        if value in typing.get_args(tp) and type(value) is type(typing.get_args(tp)[0]):
            return value
    elif origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is not type(None):
                try:
                    return _coerce(arg, value, key)
                except ConfigError:
                    pass
        tp = " | ".join(_type_name(a) for a in args)
    elif tp is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    elif tp in (int, str, bool) and type(value) is tp:
        return value
    raise ConfigError(f"{key}: expected {_type_name(tp)}, got {value!r}")


def _build(cls: type, raw: Any, prefix: str) -> Any:
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping of keys, got {raw!r}")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    for key in raw:
        if key not in names:
            where = f"{prefix}.{key}" if prefix else str(key)
            raise ConfigError(f"unknown key {where!r}; valid keys here: {', '.join(names)}")
    return cls(**{k: _coerce(hints[k], v, f"{prefix}.{k}" if prefix else k) for k, v in raw.items()})


def parse_override(text: str) -> tuple[str, Any]:
    """'train.lr=1e-3' -> ('train.lr', 0.001). Values are YAML; '1e-3' (not YAML 1.1 float) counts as float."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override {text!r} is not of the form dotted.key=value")
    value = yaml.safe_load(raw) if raw.strip() else None
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            pass
    return key.strip(), value


def _set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = tree
    for i, part in enumerate(parents):
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"override {key!r}: {'.'.join(parents[: i + 1])} is not a section")
        node = child
    node[leaf] = value


def config_from_dict(
    raw: dict[str, Any], overrides: list[str] = (), values: Mapping[str, Any] | None = None
) -> RunConfig:
    """The validated config of a raw tree with `--set` style overrides, then dotted `values`, applied."""
    tree = {k: dict(v) if isinstance(v, dict) else v for k, v in raw.items()}
    for text in overrides:
        _set_dotted(tree, *parse_override(text))
    for key, value in (values or {}).items():
        _set_dotted(tree, key, value)
    cfg = _build(RunConfig, tree, "")
    validate(cfg)
    return cfg


def check_keys(raw: dict[str, Any]) -> None:
    """Refuse unknown keys and wrong types in a raw tree, without the cross-field checks of `validate`."""
    _build(RunConfig, raw, "")


def load_config(path: Path | str | None, overrides: list[str] = ()) -> RunConfig:
    """The validated config of a YAML file (or the defaults, for None) with dotted overrides applied."""
    raw: Any = {}
    if path is not None:
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as err:
            raise ConfigError(f"cannot read config file {path}: {err.strerror}") from err
        except yaml.YAMLError as err:
            raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
        if not isinstance(raw, dict):
            raise ConfigError(f"config file {path} must hold a mapping with sections model/aux/train/data")
    return config_from_dict(raw, overrides)


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def flatten(cfg: RunConfig) -> dict[str, Any]:
    """Every key of the config as a dotted name, e.g. {'model.kind': 'r_lstm', 'aux.weight': 1.0, ...}."""
    return {f"{section}.{key}": value for section, keys in to_dict(cfg).items() for key, value in keys.items()}


def dump_yaml(cfg: RunConfig) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def sequence_length(data: DataConfig) -> int:
    """Steps of the longest example under this config."""
    from data import DATASETS

    return DATASETS[data.name].max_steps(data)


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {message}")


def validate(cfg: RunConfig) -> None:
    """Cross-field checks: everything that would fail (or silently mean nothing) once training started."""
    from data import DATASETS, DatasetError  # deferred: the data registry is only needed here

    m, a, t, d = cfg.model, cfg.aux, cfg.train, cfg.data
    for key in ("d_embed", "d_hidden", "d_ffn", "transformer_layers", "transformer_heads", "transformer_ffn"):
        _check(getattr(m, key) >= 1, f"model.{key}", "must be >= 1")
    _check(m.ffn_layers >= 0, "model.ffn_layers", "must be >= 0")
    _check(0 <= m.dropconnect < 1, "model.dropconnect", "must be in [0, 1)")
    _check(0 <= m.transformer_dropout < 1, "model.transformer_dropout", "must be in [0, 1)")
    _check(d.name in DATASETS, "data.name", f"{d.name!r} is not one of {sorted(DATASETS)}")
    _check(d.batch_size >= 1, "data.batch_size", "must be >= 1")
    _check(d.image_size is None or d.image_size >= 2, "data.image_size", "must be null or >= 2")
    for key in ("seq_len", "max_len", "limit_train", "limit_eval"):
        _check(getattr(d, key) is None or getattr(d, key) >= 1, f"data.{key}", "must be null or >= 1")
    _check(t.epochs >= 1, "train.epochs", "must be >= 1")
    _check(t.lr > 0, "train.lr", "must be > 0")
    _check(0 <= t.rmsprop_alpha < 1, "train.rmsprop_alpha", "must be in [0, 1)")
    _check(t.rmsprop_eps > 0, "train.rmsprop_eps", "must be > 0")
    _check(0 < t.lr_halve_every <= 1, "train.lr_halve_every", "must be a fraction of train.epochs in (0, 1]")
    _check(t.truncation is None or t.truncation >= 1, "train.truncation", "must be null (full BPTT) or >= 1")
    if t.checkpoint_chunk is not None:  # recomputes chunks of the full-BPTT window; see models.checkpointed
        key = "train.checkpoint_chunk"
        _check(t.checkpoint_chunk == "sqrt" or t.checkpoint_chunk >= 1, key, "must be null (off), 'sqrt' or >= 1")
        _check(t.truncation is None, key, "needs full BPTT (train.truncation: null); truncated windows are short")
        _check(m.kind != "transformer", key, "applies to the LSTM kinds, not model.kind transformer")
        _check(t.supervised_grad == "lstm", key, "needs train.supervised_grad lstm (head_only runs no BPTT)")
    _check(t.grad_clip is None or t.grad_clip > 0, "train.grad_clip", "must be null or > 0")
    _check(t.divergence_factor is None or t.divergence_factor > 1, "train.divergence_factor", "must be null or > 1")
    _check(t.eval_batch_size >= 1, "train.eval_batch_size", "must be >= 1")
    if m.kind == "transformer":
        _check(m.d_embed % m.transformer_heads == 0, "model.transformer_heads", "must divide model.d_embed")
        _check(t.truncation is None, "train.truncation", "must be null for model.kind transformer")
        _check(t.supervised_grad == "lstm", "train.supervised_grad", "head_only needs an LSTM model.kind")
    if m.kind in AUX_KINDS:
        try:
            seq_len = sequence_length(d)
        except DatasetError as err:  # e.g. a dataset whose longest example is unknown until max_len is set
            raise ConfigError(f"data.max_len: {err}") from err
        _check(a.segment_len >= 2, "aux.segment_len", "must be >= 2")
        _check(
            a.segment_len < seq_len,
            "aux.segment_len",
            f"{a.segment_len} does not fit before or after an anchor in a sequence of {seq_len} steps",
        )
        _check(a.anchors >= 1, "aux.anchors", "must be >= 1")
        _check(a.truncation >= 1, "aux.truncation", "must be >= 1")
        _check(a.pretrain_epochs >= 0, "aux.pretrain_epochs", "must be >= 0")
        _check(a.weight >= 0, "aux.weight", "must be >= 0")
        _check(a.decoder_units >= 1, "aux.decoder_units", "must be >= 1")
        _check(
            a.decoder_truncation is None or a.decoder_truncation >= 1,
            "aux.decoder_truncation",
            "must be null (whole segment) or >= 1",
        )
        _check(m.kind == "r_lstm" or a.teacher_forcing, "aux.teacher_forcing", "false only applies to r_lstm")
        _check(
            m.kind == "r_lstm" or a.segment_offset == "adjacent", "aux.segment_offset", "random only applies to r_lstm"
        )
