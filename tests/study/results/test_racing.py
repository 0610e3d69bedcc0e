"""Seed racing (`study.results.racing`): configurations earn seeds only while their interval overlaps the
incumbent's, up to N runs each; what it costs against a fixed top-k re-run."""

from __future__ import annotations

import random
import statistics
import zlib

from study.results.racing import race_cost, race_points
from study.results.seeds import seed_groups
from study.spec.definition import SEED_OF

METRIC = "val/accuracy"


def row(trial_id: str, value: float | None, seed: int = 0, origin: str | None = None, status: str = "COMPLETE",
        epochs: int = 4) -> dict:  # fmt: skip
    lr = zlib.crc32((origin or trial_id).encode()) % 100 / 1000  # one value per configuration
    params = {"train.lr": lr, **({"train.seed": seed, SEED_OF: origin} if origin else {})}
    return {"trial_id": trial_id, "status": status, "params": params, "config": {"train.seed": seed},
            "metrics": {} if value is None else {METRIC: value}, "history": [{"epoch": e + 1} for e in range(epochs)]}


def race(true_means: dict[str, float], noise: float, seeds: int, rng: random.Random) -> list[dict]:
    """Run a whole race on configurations whose runs are true mean + Gaussian noise; every row it made."""
    rows = [row(name, mean + rng.gauss(0, noise)) for name, mean in true_means.items()]
    for _ in range(50):
        points = race_points(rows, METRIC, "max", seeds=seeds)
        if not points:
            return rows
        for p in points:
            origin = p[SEED_OF]
            rows.append(row(f"{origin}-s{p['train.seed']}", true_means[origin] + rng.gauss(0, noise),
                            seed=p["train.seed"], origin=origin))  # fmt: skip
    raise AssertionError("the race did not end")


def test_the_incumbent_gets_the_second_seed_first_then_only_challengers_in_reach_race():
    rows = [row("a", 0.50), row("b", 0.45), row("c", 0.10)]
    first = race_points(rows, METRIC, "max", seeds=3)
    assert first == [{"train.lr": rows[0]["params"]["train.lr"], "train.seed": 1, SEED_OF: "a"}]
    rows.append(row("a-s1", 0.51, seed=1, origin="a"))  # a's interval now reaches down to 0.473: b is within reach
    assert [(p[SEED_OF], p["train.seed"]) for p in race_points(rows, METRIC, "max", seeds=3)] == [("a", 2), ("b", 1)]
    rows += [row("a-s2", 0.50, seed=2, origin="a"), row("b-s1", 0.44, seed=1, origin="b")]
    assert race_points(rows, METRIC, "max", seeds=3) == []  # b's interval (to 0.455) below a's (from 0.495)
    assert [g.origin["trial_id"] for g in seed_groups(rows, METRIC, "max")] == ["a", "b"]  # ranked as --seeds ranks


def test_a_failed_rerun_uses_up_its_seed_and_a_running_one_is_asked_again():
    rows = [row("a", 0.5), row("a-s1", None, seed=1, origin="a", status="FAILED")]
    assert [p["train.seed"] for p in race_points(rows, METRIC, "max", seeds=3)] == [2]
    assert race_points(rows, METRIC, "max", seeds=2) == []  # its two runs are spent
    rows = [row("a", 0.5), row("a-s1", None, seed=1, origin="a", status="RUNNING")]  # interrupted: the same point
    assert [p["train.seed"] for p in race_points(rows, METRIC, "max", seeds=3)] == [1]


def test_a_race_spends_seeds_where_the_noise_needs_them_and_finds_the_best():
    rng = random.Random(0)
    for noise, found, reruns in ((0.01, 26, (0, 12)), (0.06, 18, (12, 40))):
        won, spent = 0, []
        for _ in range(30):
            means = {f"c{i}": rng.uniform(0.2, 0.5) for i in range(8)}
            rows = race(means, noise=noise, seeds=5, rng=rng)
            won += seed_groups(rows, METRIC, "max")[0].origin["trial_id"] == max(means, key=means.get)
            spent.append(race_cost(rows, seeds=5, top_k=3))
        # The bound over its seeds ranks the truly best configuration first in most races.
        assert won >= found, (noise, won)
        # Against --seeds 5 --top-k 3 (12 re-runs): half of it where seeds agree, more where they are noisy.
        assert reruns[0] < statistics.mean(c["reruns"] for c in spent) < reruns[1], noise
        assert all(c["fixed_reruns"] == 12 and c["fixed_trial_epochs"] == 48 for c in spent)
        assert all(c["trial_epochs"] == 4 * c["reruns"] for c in spent)


if __name__ == "__main__":
    # Races against --seeds 5 --top-k 3 on simulated configurations (BENCHMARKS.md):
    # python -m tests.study.results.test_racing [RACES]
    import sys

    from study.results.seeds import seed_points

    races = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    rng = random.Random(0)
    print("| seed noise (sd) | race: best found | race: re-runs (mean) | --seeds 5 --top-k 3: best found | "
          "its re-runs |")
    print("|---|---|---|---|---|")
    for noise in (0.01, 0.03, 0.06):
        raced, fixed, spent = 0, 0, []
        for _ in range(races):
            means = {f"c{i}": rng.uniform(0.2, 0.5) for i in range(8)}
            truth = max(means, key=means.get)
            rows = race(means, noise, 5, rng)
            raced += seed_groups(rows, METRIC, "max")[0].origin["trial_id"] == truth
            spent.append(race_cost(rows, seeds=5, top_k=3)["reruns"])
            rows = [row(name, mean + rng.gauss(0, noise)) for name, mean in means.items()]
            for p in seed_points(rows, METRIC, "max", top_k=3, seeds=5):
                rows.append(row(f"{p[SEED_OF]}-s{p['train.seed']}", means[p[SEED_OF]] + rng.gauss(0, noise),
                                seed=p["train.seed"], origin=p[SEED_OF]))  # fmt: skip
            fixed += seed_groups(rows, METRIC, "max")[0].origin["trial_id"] == truth
        print(f"| {noise} | {raced}/{races} | {statistics.mean(spent):.1f} | {fixed}/{races} | 12 |")
