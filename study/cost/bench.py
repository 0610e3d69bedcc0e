"""Time and memory of one training step, and of evaluation, per model kind and length.

Step time is the median over `--repeats` steps after one warm-up step; "step / floor" divides it by the summed
times of the bare calls the step cannot avoid, timed alone in the same run (the no-grad prefix, the supervised
window, and for r-LSTM / p-LSTM the auxiliary window and the auxiliary LSTM over the segment; a checkpointed
full BPTT step is held to plain full BPTT's window, so its ratio is the cost of recomputing). For the auxiliary
kinds a second table times the step's own no-grad pass, which stops at every window start, with each strategy
of `models.truncated.prefix_states` against one call over the prefix. Memory: the bytes autograd saves for
backward (exact; with checkpointing, the forward's and one recomputed chunk's), and the peak of a training step
and of an evaluation forward (CUDA peak allocation on GPU, rise of the resident set on CPU;
`models.metrics.PeakMemory`). `python -m study.bench` prints the tables for BENCHMARKS.md.
"""

from __future__ import annotations

import dataclasses
import importlib
import multiprocessing
import statistics
import time

import torch
import torch.nn.functional as F

from models import MODELS, AuxConfig, ModelConfig, TrainConfig, build_model
from models.checkpointed import chunk_length, run_chunk
from models.loop import autocast, compute_losses, loss_scaler
from models.lstm import LSTMClassifier
from models.metrics import PeakMemory
from models.truncated import aux_window_cuts, auxiliary_window, prefix_states, sample_anchors

# name -> (model kind, supervised truncation, extra aux settings, extra train settings)
VARIANTS: dict[str, tuple[str, int | None, dict, dict]] = {
    "lstm full BPTT": ("lstm", None, {}, {}),
    "lstm full BPTT, checkpointed": ("lstm", None, {}, {"checkpoint_chunk": "sqrt"}),
    "lstm truncate300": ("lstm", 300, {}, {}),
    "r_lstm truncate300": ("r_lstm", 300, {}, {}),
    "r_lstm truncate300, per-batch anchor": ("r_lstm", 300, {"anchor_sampling": "per_batch"}, {}),
    "p_lstm truncate300": ("p_lstm", 300, {}, {}),
    "transformer": ("transformer", None, {}, {}),
}


def saved_activation_bytes(fn) -> tuple[object, int]:
    """Run fn() and count the bytes of the tensors autograd saves for backward (views counted once)."""
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        result = fn()
    return result, sum(seen.values())


def recomputed_bytes(model, tokens: torch.Tensor, train: TrainConfig) -> int:
    """What a checkpointed step's backward saves on top of its forward (0 without `train.checkpoint_chunk`): one
    chunk's activations, recomputed and freed one chunk at a time. The forward's hooks never see them (the
    checkpoint packs them itself), so they are counted here on the first chunk, run as backward reruns it."""
    if train.checkpoint_chunk is None or not isinstance(model, LSTMClassifier):
        return 0
    chunk = chunk_length(train.checkpoint_chunk, tokens.shape[1])
    h = torch.zeros(1, len(tokens), model.lstm.hidden_size, device=tokens.device, dtype=model.lstm.weight_hh_l0.dtype)
    at = torch.zeros(len(tokens), dtype=torch.long, device=tokens.device)
    # A copy of the chunk's tokens: the recompute reads the batch's own, counted with the forward; this is small.
    return saved_activation_bytes(lambda: run_chunk(model, tokens[:, :chunk].clone(), h, h, at))[1]


def _timed(fn, repeats: int, device: torch.device) -> float:
    """Median seconds of fn() over `repeats` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        started = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def floor_parts(model, tokens, labels, train: TrainConfig, aux: AuxConfig) -> dict[str, object]:
    """The bare calls an LSTM step cannot avoid, each a function: the no-grad prefix up to the supervised window,
    the supervised window forward + backward, and for auxiliary kinds the auxiliary window of the main LSTM and
    the auxiliary LSTM over the segment (forward + backward, with its softmax)."""
    seq_len = tokens.shape[1]
    window = seq_len if train.truncation is None else min(train.truncation, seq_len)
    parts: dict[str, object] = {}

    def backward(loss: torch.Tensor) -> None:
        loss.backward()
        model.zero_grad(set_to_none=True)

    if window < seq_len:
        parts["no-grad prefix"] = lambda: torch.no_grad()(model.advance)(tokens[:, : seq_len - window])
    parts["supervised window"] = lambda: backward(
        F.cross_entropy(model.classifier(model.run(tokens[:, seq_len - window :])[0][:, -1]), labels)
    )
    if model.aux is None:
        return parts
    length = aux.segment_len
    aux_window = auxiliary_window(model.kind, aux)
    if MODELS[model.kind].auxiliary == "reconstruct":
        segment = tokens[:, seq_len - length - 1 : seq_len - 1]

        def aux_lstm() -> None:
            h = torch.zeros(len(tokens), model.lstm.hidden_size, device=tokens.device)
            logits = model.aux(model.decoder_embed(segment[:, :-1]), h, h)
            backward(F.cross_entropy(logits.reshape(-1, model.aux.vocab_size), segment[:, 1:].reshape(-1)))
    else:
        segment = tokens[:, :length]
        if length - 1 > aux_window:  # the predictor still reads main outputs past the window
            rest = tokens[:, : length - 1 - aux_window]
            parts["auxiliary rest of segment"] = lambda: torch.no_grad()(model.run)(rest)

        def aux_lstm() -> None:
            h = torch.zeros(len(tokens), model.lstm.hidden_size, device=tokens.device)
            inputs = torch.zeros(len(tokens), length, model.lstm.hidden_size, device=tokens.device)
            logits = model.aux(inputs, h, h)
            backward(F.cross_entropy(logits.reshape(-1, model.aux.vocab_size), segment.reshape(-1)))

    parts["auxiliary window"] = lambda: backward(model.run(tokens[:, :aux_window])[0].sum())
    parts["auxiliary LSTM"] = aux_lstm
    return parts


def build_step(
    name: str, seq_len: int, segment: int, batch: int, device: torch.device, precision: str, kernel: str = "auto"
):  # fmt: skip
    """Model, batch and configs of one variant, and `step(record)`: one optimizer step on that batch, run inside
    `record(compute)`, which must call `compute()` and return its loss terms (to count what it saves)."""
    kind, truncation, aux_changes, train_changes = VARIANTS[name]
    aux = dataclasses.replace(AuxConfig(segment_len=segment), **aux_changes)
    train = TrainConfig(truncation=truncation, precision=precision, **train_changes)
    torch.manual_seed(0)
    cfg = ModelConfig(kind=kind, recurrent_kernel=kernel)
    model = build_model(cfg, aux, vocab_size=256, num_classes=10, seq_len=seq_len).to(device)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 256, (batch, seq_len), generator=gen).to(device)
    labels = torch.randint(0, 10, (batch,), generator=gen).to(device)
    scaler = loss_scaler(device, train)

    def step(record=lambda compute: compute()) -> None:
        with autocast(device, precision):
            terms = record(
                lambda: compute_losses(model, tokens, labels, train=train, aux=aux, phase="joint", anchor_generator=gen)
            )
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(terms.total).backward()
        scaler.step(optimizer)
        scaler.update()

    return model, tokens, labels, train, aux, gen, step


def measure(
    name: str, seq_len: int, segment: int, batch: int, repeats: int, device: torch.device, floor: bool = True,
    precision: str = "fp32", kernel: str = "auto",
) -> dict:  # fmt: skip
    model, tokens, labels, train, aux, gen, step = build_step(name, seq_len, segment, batch, device, precision, kernel)
    if train.checkpoint_chunk is not None:
        importlib.import_module("torch._dynamo")  # checkpoint's first call imports it: ~70 MB resident, once
    memory = PeakMemory(device)

    model.eval()  # first, while nothing is cached: on CPU the rise of the resident set is what the pass needs
    memory.start()
    with torch.no_grad(), autocast(device, precision):
        model(tokens)
    eval_peak = memory.peak_mb()
    model.train()
    saved, train_peaks = [0], []

    def record(compute):
        terms, saved[0] = saved_activation_bytes(compute)
        return terms

    def instrumented_step() -> None:
        memory.start()
        step(record)
        train_peaks.append(memory.peak_mb())

    seconds = _timed(instrumented_step, repeats, device)
    with autocast(device, precision):
        saved[0] += recomputed_bytes(model, tokens, train)
    row = {
        "variant": name,
        "kernel": kernel,
        "device": device.type,
        "seq_len": seq_len,
        "ms_per_step": 1e3 * seconds,
        "saved_mb": saved[0] / 2**20,
        "train_peak_mb": max(train_peaks),  # on CPU the first step's: later ones reuse what it allocated
        "eval_peak_mb": eval_peak,
        "tokens_per_second": batch * seq_len / seconds,
    }
    if floor and MODELS[model.kind].recurrent:
        parts = floor_parts(model, tokens, labels, train, aux)
        with autocast(device, precision):
            row["floor_parts_ms"] = {label: 1e3 * _timed(fn, repeats, device) for label, fn in parts.items()}
            row["floor_ms"] = sum(row["floor_parts_ms"].values())
            if model.aux is not None and train.truncation is not None:
                passes = prefix_passes(model, tokens, train.truncation, aux, gen)
                row["prefix_ms"] = {label: 1e3 * _timed(fn, repeats, device) for label, fn in passes.items()}
    return row


def _concurrent_worker(args: tuple, barrier, results) -> None:
    name, seq_len, segment, batch, steps, device, precision = args
    *_, step = build_step(name, seq_len, segment, batch, device, precision)
    step()  # warm-up: allocations, cuDNN plans
    if device.type == "cuda":
        torch.cuda.synchronize()
    barrier.wait()
    started = time.time()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    results.put((started, time.time()))


def concurrent_throughput(
    processes: int, name: str, seq_len: int, segment: int, batch: int, steps: int, device: torch.device,
    precision: str,
) -> float:  # fmt: skip
    """Tokens per second of `processes` training processes sharing the device, each running `steps` steps of the
    variant after a warm-up, all started together: what packing several sweep trials onto one GPU yields."""
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(processes), context.Queue()
    args = (name, seq_len, segment, batch, steps, device, precision)
    workers = [context.Process(target=_concurrent_worker, args=(args, barrier, results)) for _ in range(processes)]
    for worker in workers:
        worker.start()
    spans = [results.get() for _ in workers]
    for worker in workers:
        worker.join()
        if worker.exitcode:
            raise RuntimeError(f"a benchmark process exited with code {worker.exitcode}")
    seconds = max(end for _, end in spans) - min(start for start, _ in spans)
    return processes * steps * batch * seq_len / seconds


def prefix_passes(model, tokens, truncation: int, aux: AuxConfig, gen: torch.Generator) -> dict[str, object]:
    """The step's no-grad pass, which records the state at every window start (the supervised one and one per
    anchor), with each strategy, and the floor it is held to: one call over the prefix that stops nowhere."""
    batch, seq_len = tokens.shape[:2]
    anchors, _ = sample_anchors(batch, seq_len, model.kind, aux, gen)
    anchor_cuts = aux_window_cuts(model.kind, anchors.reshape(-1), auxiliary_window(model.kind, aux))
    cuts = torch.cat([torch.full((batch,), seq_len - truncation), anchor_cuts])
    rows = torch.cat([torch.arange(batch), torch.arange(batch).repeat_interleave(aux.anchors)])
    passes = {
        strategy: lambda strategy=strategy: prefix_states(model, tokens, cuts, rows, strategy=strategy)
        for strategy in ("split", "packed")
    }
    passes["one call"] = lambda: torch.no_grad()(model.advance)(tokens[:, : int(cuts.max())])
    return passes


def _same(rows: list[dict], variant: str, seq_len: int) -> list[dict]:
    """The rows of a variant at a length, today's kernel (cuDNN) first."""
    found = [r for r in rows if (r["variant"], r["seq_len"]) == (variant, seq_len)]
    return sorted(found, key=lambda r: r.get("kernel", "auto") not in ("auto", "cudnn"))


def _baseline(rows: list[dict], seq_len: int) -> dict | None:
    """Plain LSTM full BPTT at this length, through today's kernel where it ran: what every ratio divides by."""
    return next(iter(_same(rows, "lstm full BPTT", seq_len)), None)


def _label(row: dict) -> str:
    kernel = row.get("kernel", "auto")
    return row["variant"] if kernel == "auto" else f"{row['variant']} [{kernel}]"


def step_table(rows: list[dict]) -> list[str]:
    """`measure`'s rows as Markdown: the step, its floor and memory, then the no-grad pass of each strategy."""
    memory = "CUDA peak" if rows and rows[0].get("device") == "cuda" else "RSS rise"
    lines = [
        "| variant | T | ms/step | vs lstm full BPTT | step / floor | saved activations (MB) | "
        f"train {memory} (MB) | eval {memory} (MB) | tokens/s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        base = _baseline(rows, row["seq_len"])
        ratio = f"{row['ms_per_step'] / base['ms_per_step']:.2f}x" if base else "-"
        floor = f"{row['ms_per_step'] / row['floor_ms']:.2f}x" if "floor_ms" in row else "-"
        lines.append(
            f"| {_label(row)} | {row['seq_len']} | {row['ms_per_step']:.0f} | {ratio} | {floor} | "
            f"{row['saved_mb']:.1f} | {row['train_peak_mb']:.0f} | {row['eval_peak_mb']:.0f} | "
            f"{row['tokens_per_second']:,.0f} |"
        )
    prefix_rows = [row for row in rows if "prefix_ms" in row]
    if prefix_rows:
        lines += [
            "",
            "The step's no-grad pass, stopping at every window start (ms; `auto`: packed on GPU to 1,024 steps):",
            "| variant | T | split | packed | one call to the last start |",
            "|---|---|---|---|---|",
        ]
        for row in prefix_rows:
            ms = row["prefix_ms"]
            times = " | ".join(f"{v:.1f}" for v in ms.values())
            lines.append(f"| {_label(row)} | {row['seq_len']} | {times} |")
    return lines


def kernel_table(rows: list[dict]) -> list[str]:
    """The recurrent kernels side by side: each variant's step and its auxiliary LSTM stack (forward + backward
    over the segment, with its softmax) per kernel, against the plain LSTM full-BPTT step through cuDNN."""
    lines = [
        "| variant | T | kernel | ms/step | vs lstm full BPTT (cudnn) | auxiliary LSTM ms | its speed-up over cudnn |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        base = _baseline(rows, row["seq_len"])
        reference = _same(rows, row["variant"], row["seq_len"])[0]
        aux_ms = row.get("floor_parts_ms", {}).get("auxiliary LSTM")
        aux_cudnn = None  # this variant's auxiliary stack through cuDNN, where it ran
        if reference.get("kernel", "auto") in ("auto", "cudnn"):
            aux_cudnn = reference.get("floor_parts_ms", {}).get("auxiliary LSTM")
        ratio = f"{row['ms_per_step'] / base['ms_per_step']:.2f}x" if base else "-"
        aux = f"{aux_ms:.1f}" if aux_ms is not None else "-"
        speedup = f"{aux_cudnn / aux_ms:.2f}x" if aux_ms and aux_cudnn else "-"
        lines.append(
            f"| {row['variant']} | {row['seq_len']} | {row.get('kernel', 'auto')} | {row['ms_per_step']:.1f} | "
            f"{ratio} | {aux} | {speedup} |"
        )
    return lines


def concurrency_table(
    processes: list[int], variants: list[str], lengths: list[int], segment: int, batch: int, steps: int,
    device: torch.device, precision: str,
) -> list[str]:  # fmt: skip
    """Markdown: the total throughput of each number of concurrent training processes, against one process."""
    lines = ["| variant | T | processes | total tokens/s | vs 1 process |", "|---|---|---|---|---|"]
    for seq_len in lengths:
        for variant in variants:
            alone = None
            for n in processes:
                tokens_per_second = concurrent_throughput(n, variant, seq_len, segment, batch, steps, device, precision)
                alone = alone or (tokens_per_second if n == 1 else None)
                ratio = f"{tokens_per_second / alone:.2f}x" if alone else "-"
                lines.append(f"| {variant} | {seq_len} | {n} | {tokens_per_second:,.0f} | {ratio} |")
    return lines
