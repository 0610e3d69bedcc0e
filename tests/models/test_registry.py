"""The model registry: every kind says what it means (auxiliary loss, recurrence, the config keys it reads), and
everything outside models/ asks it; a name used twice is refused."""

from __future__ import annotations

import dataclasses
from fnmatch import fnmatchcase

import pytest
from torch import nn

from models import MODELS, AuxConfig, ModelConfig, TrainConfig, kinds_reading, reads
from models.catalog import AUXILIARY_KEYS, RECONSTRUCTION_KEYS
from models.registry import by_name
from tests.models.conftest import CLASSES, SEQ_LEN, TINY_AUX, VOCAB, tiny_model

CONFIG_KEYS = [
    f"{section}.{f.name}"
    for section, cls in (("model", ModelConfig), ("aux", AuxConfig), ("train", TrainConfig))
    for f in dataclasses.fields(cls)
]


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_every_entry_builds_the_kind_it_is_named_for(kind):
    info = MODELS[kind]
    assert info.name == kind and info.paper_name and info.description
    model = tiny_model(kind)
    assert isinstance(model, nn.Module) and model.kind == kind
    # An auxiliary kind owns an auxiliary network; the others have none to train.
    assert (getattr(model, "aux", None) is not None) == (info.auxiliary is not None)
    assert info.auxiliary in (None, "reconstruct", "predict")


@pytest.mark.parametrize("kind", sorted(MODELS))
def test_every_pattern_a_kind_reads_names_a_config_key(kind):
    for pattern in MODELS[kind].reads:
        assert any(fnmatchcase(key, pattern) for key in CONFIG_KEYS), f"{kind} reads {pattern!r}: no such key"


def test_every_auxiliary_key_is_read_by_the_auxiliary_kinds_only():
    auxiliary = {name for name, info in MODELS.items() if info.auxiliary}
    reconstructing = {name for name, info in MODELS.items() if info.auxiliary == "reconstruct"}
    for key in (k for k in CONFIG_KEYS if k.startswith("aux.")):
        assert key in AUXILIARY_KEYS + RECONSTRUCTION_KEYS, f"{key} is read by no kind: name it in the readers' entries"
        expected = reconstructing if key in RECONSTRUCTION_KEYS else auxiliary
        assert set(kinds_reading(key)) == expected, key


def test_keys_no_kind_claims_are_read_by_every_kind_and_truncation_only_by_recurrent_ones():
    assert kinds_reading("train.lr") == tuple(MODELS)
    recurrent = {name for name, info in MODELS.items() if info.recurrent}
    assert set(kinds_reading("train.truncation")) == recurrent
    assert all(reads(name, "aux.weight") == bool(info.auxiliary) for name, info in MODELS.items())


def test_a_registry_refuses_two_entries_of_one_name():
    with pytest.raises(ValueError, match="two registry entries are named 'lstm'"):
        by_name(MODELS["lstm"], MODELS["lstm"])


def test_build_model_refuses_an_unknown_kind_naming_the_valid_ones():
    from models import build_model

    with pytest.raises(ValueError, match=r"model.kind 'gru' is not one of \['lstm'"):
        build_model(ModelConfig(kind="gru"), TINY_AUX, vocab_size=VOCAB, num_classes=CLASSES, seq_len=SEQ_LEN)
