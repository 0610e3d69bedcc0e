"""`python -m study.bench --quick`: the benchmark runs, measures against the floor, and shows flat memory."""

from __future__ import annotations

import pytest

from study.bench import main


@pytest.mark.slow
def test_quick_bench_prints_every_variant_with_its_floor_and_memory(capsys):
    assert main(["--quick", "--variants", "lstm full BPTT", "lstm truncate300", "r_lstm truncate300"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ") and "---" not in line]
    header, rows = lines[0], [line.split(" | ") for line in lines[1:]]
    assert "step / floor" in header and "saved activations" in header and "eval" in header
    assert len(rows) == 6  # 3 variants x 2 lengths
    saved = {(r[0].strip("| "), int(r[1])): float(r[5]) for r in rows}
    assert saved[("lstm truncate300", 2048)] == saved[("lstm truncate300", 512)]  # exact, flat in T
    assert saved[("lstm full BPTT", 2048)] > 3 * saved[("lstm full BPTT", 512)]
    for row in rows:
        assert float(row[4].rstrip("x")) > 0.5  # a real ratio to the timed floor
