"""A valid spec the tests of specs, seeds and the searcher start from: every kind, a conditional nuisance space."""

from __future__ import annotations

VALID = {
    "name": "check",
    "base": {"model": {"kind": "r_lstm"}, "aux": {"segment_len": 100, "truncation": 50, "pretrain_epochs": 0},
             "train": {"epochs": 4, "truncation": 50}, "data": {"name": "mnist", "image_size": 14}},
    "space": {
        "scientific": {"model.kind": {"choice": ["lstm", "r_lstm", "p_lstm", "transformer"]}},
        "nuisance": {
            "aux.weight": {"float": [0.1, 3.0], "log": True},
            "aux.segment_len": {"int": [25, 150]},
            "aux.truncation": {"int": [10, 196]},
            "aux.anchors": {"int": [1, 4]},
            "train.truncation": {"int": [25, 196]},
            "train.lr": {"float": [1e-4, 1e-2], "log": True},
        },
        "fixed": {"data.limit_train": 512},
    },
    "objective": {"metric": "val/accuracy", "mode": "max"},
    "trials": 6,
    "concurrency": 2,
}  # fmt: skip
