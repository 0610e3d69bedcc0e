"""`python -m study.bench --quick`: the benchmark runs, measures against the floor, and shows flat memory."""

from __future__ import annotations

import math

import pytest

from study.bench import main


def _tables(out: str) -> list[list[list[str]]]:
    """The Markdown tables printed, each as rows of cells (header first, separator dropped)."""
    tables, current = [], None
    for line in out.splitlines():
        if line.startswith("|"):
            if current is None:
                current = []
                tables.append(current)
            if "---" not in line:
                current.append([cell.strip() for cell in line.strip("| ").split(" | ")])
        else:
            current = None
    return tables


@pytest.mark.slow
def test_quick_bench_prints_every_variant_with_its_floor_and_memory(capsys):
    variants = ["lstm full BPTT", "lstm full BPTT, checkpointed", "lstm truncate300", "r_lstm truncate300"]
    assert main(["--quick", "--variants", *variants]) == 0
    steps, prefix = _tables(capsys.readouterr().out)
    header, rows = steps[0], steps[1:]
    assert "step / floor" in header and "saved activations (MB)" in header and "eval RSS rise (MB)" in header
    assert len(rows) == 8  # 4 variants x 2 lengths
    saved = {(r[0], int(r[1])): float(r[5]) for r in rows}
    assert saved[("lstm truncate300", 2048)] == saved[("lstm truncate300", 512)]  # exact, flat in T
    assert saved[("lstm full BPTT", 2048)] > 3 * saved[("lstm full BPTT", 512)]
    # Checkpointed (chunks of sqrt(T) steps, 23 and 46): 4x the steps, about 2x the saved bytes, a fraction of T's.
    checkpointed = "lstm full BPTT, checkpointed"
    assert saved[(checkpointed, 2048)] < 2.5 * saved[(checkpointed, 512)]
    assert saved[(checkpointed, 2048)] < 0.1 * saved[("lstm full BPTT", 2048)]
    for row in rows:
        # A real ratio to the timed floor; not bounded further: both are timings taken beside whatever else the
        # machine runs (`make test` runs two pytest processes side by side), and speed is BENCHMARKS.md's business.
        ratio = float(row[4].rstrip("x"))
        assert 0 < ratio < math.inf
    # The no-grad pass of the auxiliary step, with both strategies and its one-call floor.
    assert prefix[0] == ["variant", "T", "split", "packed", "one call to the last start"]
    assert [(r[0], r[1]) for r in prefix[1:]] == [("r_lstm truncate300", "512"), ("r_lstm truncate300", "2048")]
    assert all(float(ms) > 0 for r in prefix[1:] for ms in r[2:])


@pytest.mark.slow
def test_concurrent_processes_report_their_total_throughput(capsys):
    argv = ["--processes", "1", "2", "--variants", "lstm truncate300", "--lengths", "512", "--segment", "128",
            "--batch", "4", "--repeats", "2"]  # fmt: skip
    assert main(argv) == 0
    (table,) = _tables(capsys.readouterr().out)
    assert table[0][:4] == ["variant", "T", "processes", "total tokens/s"]
    assert [r[2] for r in table[1:]] == ["1", "2"] and table[1][4] == "1.00x"
    assert all(float(r[3].replace(",", "")) > 0 for r in table[1:])


def test_kernels_are_a_variant_axis_with_the_cudnn_baseline_in_the_same_table():
    import torch

    from study.cost.bench import kernel_table, measure, step_table

    cpu = torch.device("cpu")
    rows = [
        measure(variant, 40, 10, 2, 1, cpu, True, "fp32", kernel)
        for kernel in ("cudnn", "flashrnn-fused")
        for variant in ("lstm full BPTT", "r_lstm truncate300")
    ]
    steps = _tables("\n".join(step_table(rows)))[0]
    assert [r[0] for r in steps[1:]] == [
        "lstm full BPTT [cudnn]", "r_lstm truncate300 [cudnn]",
        "lstm full BPTT [flashrnn-fused]", "r_lstm truncate300 [flashrnn-fused]",
    ]  # fmt: skip
    (table,) = _tables("\n".join(kernel_table(rows)))
    assert table[0][2:] == ["kernel", "ms/step", "vs lstm full BPTT (cudnn)", "auxiliary LSTM ms",
                            "its speed-up over cudnn"]  # fmt: skip
    by_kernel = {(r[0], r[2]): r for r in table[1:]}
    assert by_kernel[("lstm full BPTT", "cudnn")][4] == "1.00x"  # every ratio divides by the cuDNN baseline
    cudnn_ms = float(by_kernel[("lstm full BPTT", "cudnn")][3])
    flash = by_kernel[("r_lstm truncate300", "flashrnn-fused")]
    assert float(flash[4].rstrip("x")) == pytest.approx(float(flash[3]) / cudnn_ms, rel=0.05)  # printed ms rounded
    assert float(flash[5]) > 0 and flash[6].endswith("x")
    assert by_kernel[("r_lstm truncate300", "cudnn")][6] == "1.00x"
