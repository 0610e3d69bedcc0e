"""The one typed configuration tree: each package's frozen dataclasses composed into `RunConfig`.

Flow: dataclass defaults <- YAML file <- `--set dotted.key=value` overrides. Unknown keys, wrong types and
impossible combinations raise `ConfigError` naming the key, before any data is read or Ray is started.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from data.config import DataConfig
from models import MODELS, AuxConfig, ModelConfig, TrainConfig, kind_names, kinds_reading, reads
from models.config import ModelKind


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
    if tp is ModelKind:  # the registry's kinds, named as a Literal's choices would be
        if isinstance(value, str) and value in MODELS:
            return value
        raise ConfigError(f"{key}: expected {kind_names()}, got {value!r}")
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
    names = [f.name for f in dataclasses.fields(cls)]
    if not isinstance(raw, dict):
        raise ConfigError(f"{prefix or 'config'}: expected a mapping of keys ({', '.join(names)}), got {raw!r}")
    hints = typing.get_type_hints(cls)
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


def yaml_problem(err: yaml.YAMLError) -> str:
    """A YAML error as 'line L, column C: problem' (PyYAML's own text names an anonymous '<unicode string>')."""
    mark, problem = getattr(err, "problem_mark", None), getattr(err, "problem", None)
    if mark is None or not problem:
        return str(err)
    context = getattr(err, "context", None)
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}" + (f" ({context})" if context else "")


def load_config(path: Path | str | None, overrides: list[str] = ()) -> RunConfig:
    """The validated config of a YAML file (or the defaults, for None) with dotted overrides applied."""
    raw: Any = {}
    if path is not None:
        try:
            raw = yaml.safe_load(Path(path).read_text()) or {}
        except OSError as err:
            raise ConfigError(f"cannot read config file {path}: {err.strerror}") from err
        except yaml.YAMLError as err:
            raise ConfigError(f"config file {path} is not valid YAML: {yaml_problem(err)}") from err
        if not isinstance(raw, dict):
            raise ConfigError(f"config file {path} must hold a mapping with sections model/aux/train/data")
    return config_from_dict(raw, overrides)


def to_dict(cfg: RunConfig) -> dict[str, Any]:
    return dataclasses.asdict(cfg)


def flatten(cfg: RunConfig) -> dict[str, Any]:
    """Every key of the config as a dotted name, e.g. {'model.kind': 'r_lstm', 'aux.weight': 1.0, ...}."""
    return {f"{section}.{key}": value for section, keys in to_dict(cfg).items() for key, value in keys.items()}


def unflatten(flat: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The raw tree of a flat config: {'model.kind': 'lstm'} -> {'model': {'kind': 'lstm'}}."""
    tree: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        section, _, leaf = key.partition(".")
        tree.setdefault(section, {})[leaf] = value
    return tree


def dump_yaml(cfg: RunConfig) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)


def sequence_length(data: DataConfig) -> int:
    """Steps of the longest example under this config."""
    from data import DATASETS

    return DATASETS[data.name].max_steps(data)


def _check(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise ConfigError(f"{key}: {message}")


def _at_least(value: Any, low: int, key: str, *, nullable: str | None = None) -> None:
    """`value` >= low (or null, where `nullable` says what null means); the message says the bound and the value."""
    if nullable is not None and value is None:
        return
    allowed = f"null ({nullable}) or at least {low}" if nullable else f"at least {low}"
    _check(value is not None and value >= low, key, f"must be {allowed}, got {value!r}")


def _in_unit(value: float, key: str) -> None:
    _check(0 <= value < 1, key, f"must be in [0, 1), got {value!r}")


def validate(cfg: RunConfig) -> None:
    """Cross-field checks: everything that would fail (or silently mean nothing) once training started.

    Each message names the key, what it allows and the value given.
    """
    _check(cfg.model.kind in MODELS, "model.kind", f"expected {kind_names()}, got {cfg.model.kind!r}")
    _check_model(cfg.model)
    _check_data(cfg.data)
    _check_train(cfg.train, cfg.model)
    _check_whole_sequence(cfg.model, cfg.train)
    if MODELS[cfg.model.kind].auxiliary:
        _check_aux(cfg.aux, cfg.model, cfg.data)


def _check_model(m: ModelConfig) -> None:
    for key in ("d_embed", "d_hidden", "d_ffn", "transformer_layers", "transformer_heads", "transformer_ffn"):
        _at_least(getattr(m, key), 1, f"model.{key}")
    _at_least(m.ffn_layers, 0, "model.ffn_layers")
    _in_unit(m.dropconnect, "model.dropconnect")
    _in_unit(m.transformer_dropout, "model.transformer_dropout")
    if m.recurrent_kernel.startswith("flashrnn"):  # before anything starts, not in the first trial's first step
        _check(
            importlib.util.find_spec("flashrnn") is not None,
            "model.recurrent_kernel",
            f"{m.recurrent_kernel} needs FlashRNN: pip install -e '.[gpu]', or choose auto or cudnn",
        )


def _check_data(d: DataConfig) -> None:
    from data import DATASETS  # deferred: the data registry is only needed here

    _check(d.name in DATASETS, "data.name", f"{d.name!r} is not one of {sorted(DATASETS)}")
    _at_least(d.batch_size, 1, "data.batch_size")
    _at_least(d.image_size, 2, "data.image_size", nullable="the dataset's own size")
    for key in ("seq_len", "max_len", "limit_train", "limit_eval"):
        _at_least(getattr(d, key), 1, f"data.{key}", nullable="all" if key != "seq_len" else "the task's default")


def _check_train(t: TrainConfig, m: ModelConfig) -> None:
    _at_least(t.epochs, 1, "train.epochs")
    _check(t.lr > 0, "train.lr", f"must be above 0, got {t.lr!r}")
    _in_unit(t.rmsprop_alpha, "train.rmsprop_alpha")
    _check(t.rmsprop_eps > 0, "train.rmsprop_eps", f"must be above 0, got {t.rmsprop_eps!r}")
    _check(
        0 < t.lr_halve_every <= 1,
        "train.lr_halve_every",
        f"must be a fraction of train.epochs in (0, 1], got {t.lr_halve_every!r}",
    )
    _at_least(t.truncation, 1, "train.truncation", nullable="full BPTT")
    recurrent = MODELS[m.kind].recurrent
    if t.checkpoint_chunk is not None:  # recomputes chunks of the full-BPTT window; see models.checkpointed
        key = "train.checkpoint_chunk"
        _check(
            t.checkpoint_chunk == "sqrt" or t.checkpoint_chunk >= 1,
            key,
            f"must be null (off), 'sqrt' or at least 1, got {t.checkpoint_chunk!r}",
        )
        _check(t.truncation is None, key, "needs full BPTT (train.truncation: null); truncated windows are short")
        _check(recurrent, key, f"applies to the LSTM kinds, not model.kind {m.kind}")
        _check(t.supervised_grad == "lstm", key, "needs train.supervised_grad lstm (head_only runs no BPTT)")
    _check(t.grad_clip is None or t.grad_clip > 0, "train.grad_clip", f"must be null or above 0, got {t.grad_clip!r}")
    _check(
        t.divergence_factor is None or t.divergence_factor > 1,
        "train.divergence_factor",
        f"must be null (off) or above 1, got {t.divergence_factor!r}",
    )
    _at_least(t.eval_batch_size, 1, "train.eval_batch_size")


def _check_whole_sequence(m: ModelConfig, t: TrainConfig) -> None:
    """A kind that reads the whole sequence at once (the Transformer): its heads, and nothing to truncate."""
    if reads(m.kind, "model.transformer_heads"):
        _check(
            m.d_embed % m.transformer_heads == 0,
            "model.transformer_heads",
            f"must divide model.d_embed ({m.d_embed}), got {m.transformer_heads}",
        )
    if not MODELS[m.kind].recurrent:
        _check(t.truncation is None, "train.truncation", f"must be null for model.kind {m.kind}")
        _check(t.supervised_grad == "lstm", "train.supervised_grad", "head_only needs an LSTM model.kind")


def _check_aux(a: AuxConfig, m: ModelConfig, d: DataConfig) -> None:
    from data import DatasetError

    try:
        seq_len = sequence_length(d)
    except DatasetError as err:  # e.g. a dataset whose longest example is unknown until max_len is set
        raise ConfigError(f"data.max_len: {err}") from err
    _at_least(a.segment_len, 2, "aux.segment_len")
    _check(
        a.segment_len < seq_len,
        "aux.segment_len",
        f"{a.segment_len} does not fit before or after an anchor in a sequence of {seq_len} steps; "
        f"it must be between 2 and {seq_len - 1}",
    )
    _at_least(a.anchors, 1, "aux.anchors")
    _at_least(a.truncation, 1, "aux.truncation")
    _at_least(a.pretrain_epochs, 0, "aux.pretrain_epochs")
    _check(a.weight >= 0, "aux.weight", f"must be at least 0, got {a.weight!r}")
    _at_least(a.decoder_units, 1, "aux.decoder_units")
    _at_least(a.decoder_truncation, 1, "aux.decoder_truncation", nullable="whole segment")
    # Options of some auxiliary kinds only: (key, its default, what a spec writes for the other value).
    for key, default, other in (("teacher_forcing", True, "false"), ("segment_offset", "adjacent", "random")):
        _check(
            reads(m.kind, f"aux.{key}") or getattr(a, key) == default,
            f"aux.{key}",
            f"{other} only applies to {_kinds(f'aux.{key}')}",
        )


def _kinds(key: str) -> str:
    """The model kinds that read `key`, for messages: 'lstm, r_lstm, p_lstm'."""
    return ", ".join(kinds_reading(key))
