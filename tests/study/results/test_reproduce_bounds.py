"""How far a reproduced metric may lie from the original: cases on either side of each bound.

Without a known seed spread the bound is `DEFAULT_TOLERANCE` (0.01); with one it is 2 x the std of the original's
seeds, else of the seeds run here. A bound ten times too wide passes runs that did not reproduce.

`reproduce` runs for real except the training (`study.run.runner.run_config`, imported when it runs), which
reports the given values, and the dataset checksum, which matches the sweep's: the verdict is the metric's alone.
"""

from __future__ import annotations

import json

import pytest

from study.results.reproduce import allowed_deviation, describe, find_original, reproduce
from study.run.config import dump_yaml, flatten, load_config

METRIC = "val/accuracy"
ORIGINAL = 0.9


@pytest.fixture()
def export_dir(tmp_path):
    """An export of one trial with `ORIGINAL` accuracy, as `study.results.export` writes it."""
    cfg = load_config(None)
    directory = tmp_path / "export"
    directory.mkdir()
    config_file = directory / "01_t1.yaml"
    config_file.write_text(dump_yaml(cfg))
    entry = {"rank": 1, "trial_id": "t1", "config_file": str(config_file), "config": flatten(cfg),
             "metrics": {METRIC: ORIGINAL}}  # fmt: skip
    summary = {"metric": METRIC, "mode": "max", "top": [entry], "data_checksum": f"{cfg.data.name}:0000"}
    (directory / "summary.json").write_text(json.dumps(summary))
    return directory


def with_seed_spread(directory, std: float, seeds: int = 3) -> None:
    """The export of a configuration the sweep re-ran with `seeds` seeds: their mean is `ORIGINAL`."""
    summary = json.loads((directory / "summary.json").read_text())
    summary["top"][0].update(mean=ORIGINAL, std=std, seeds=seeds)
    (directory / "summary.json").write_text(json.dumps(summary))


@pytest.fixture()
def trained(monkeypatch):
    """Training that reports the values in `trained` in turn, one per seed, as its last epoch's accuracy."""
    values: list[float] = []

    def run_config(cfg, data_dir, out, *, on_epoch):
        on_epoch({"epoch": 1, METRIC: values.pop(0)})

    monkeypatch.setattr("study.run.runner.run_config", run_config)
    monkeypatch.setattr("study.run.provenance.data_checksum", lambda cfg, data_dir: "0000")
    return values


def verdict(directory, tmp_path, values: list[float], trained: list[float]) -> dict:
    trained[:] = values
    result = reproduce(directory, trial=None, seeds=len(values), metric=None, tolerance=None,
                       out=tmp_path / "again", data_dir=tmp_path)  # fmt: skip
    assert result["config_differences"] == [] and result["data_difference"] is None  # the metric decides
    return result


@pytest.mark.parametrize(("off", "reproduced"), [(0.005, True), (-0.005, True), (0.015, False), (-0.015, False)])
def test_one_seed_without_a_known_spread_must_lie_within_a_hundredth(export_dir, tmp_path, trained, off, reproduced):
    result = verdict(export_dir, tmp_path, [ORIGINAL + off], trained)
    assert result["reproduced_ok"] is reproduced, describe(result)[1]
    assert result["allowed"] == pytest.approx(0.01)


@pytest.mark.parametrize(("off", "reproduced"), [(0.015, True), (-0.015, True), (0.03, False), (-0.03, False)])
def test_the_originals_seed_std_allows_two_stds(export_dir, tmp_path, trained, off, reproduced):
    with_seed_spread(export_dir, std=0.01)
    result = verdict(export_dir, tmp_path, [ORIGINAL + off], trained)
    assert result["reproduced_ok"] is reproduced, describe(result)[1]
    assert result["allowed"] == pytest.approx(0.02)


@pytest.mark.parametrize(("off", "reproduced"), [(0.01, True), (0.02, False)])
def test_without_the_originals_spread_two_stds_of_the_seeds_run_here_decide(export_dir, tmp_path, trained, off,
                                                                            reproduced):  # fmt: skip
    # Two seeds 0.01 apart: std 0.01 / sqrt(2), so the mean may lie 0.0141 from the original.
    result = verdict(export_dir, tmp_path, [ORIGINAL + off - 0.005, ORIGINAL + off + 0.005], trained)
    assert result["reproduced_ok"] is reproduced, describe(result)[1]
    assert result["allowed"] == pytest.approx(0.01 * 2**0.5)


def test_allowed_deviation_of_each_rule(export_dir):
    original = find_original(export_dir, None)
    assert allowed_deviation(original, METRIC, [0.5], None)[0] == pytest.approx(0.01)
    assert allowed_deviation(original, METRIC, [0.5, 0.52], None)[0] == pytest.approx(2 * 0.02 / 2**0.5)
    assert allowed_deviation(original, METRIC, [0.5], 0.3)[0] == 0.3  # a stated tolerance wins
    with_seed_spread(export_dir, std=0.01)
    original = find_original(export_dir, None)
    assert allowed_deviation(original, METRIC, [0.5, 0.9], None)[0] == pytest.approx(0.02)  # the original's spread
