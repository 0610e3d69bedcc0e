"""`python -m study.bench`: time and memory of one training step, and of evaluation, per model kind and length.

Step time is the median over `--repeats` steps after one warm-up step; "step / floor" divides it by the summed
times of the bare calls the step cannot avoid, timed alone in the same run (the no-grad prefix, the supervised
window, and for r-LSTM / p-LSTM the auxiliary window and the auxiliary LSTM over the segment). Memory: the bytes
autograd saves for backward (exact), and the peak of a training step and of an evaluation forward (CUDA peak
allocation on GPU, rise of the resident set on CPU; `models.metrics.PeakMemory`). Prints a Markdown table for
BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import statistics
import time
from concurrent.futures import ProcessPoolExecutor

import torch
import torch.nn.functional as F

from models import AuxConfig, ModelConfig, TrainConfig, build_model
from models.loop import autocast, compute_losses, resolve_device
from models.metrics import PeakMemory

# name -> (model kind, supervised truncation, extra aux settings)
VARIANTS: dict[str, tuple[str, int | None, dict]] = {
    "lstm full BPTT": ("lstm", None, {}),
    "lstm truncate300": ("lstm", 300, {}),
    "r_lstm truncate300": ("r_lstm", 300, {}),
    "r_lstm truncate300, per-batch anchor": ("r_lstm", 300, {"anchor_sampling": "per_batch"}),
    "p_lstm truncate300": ("p_lstm", 300, {}),
    "transformer": ("transformer", None, {}),
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
    if model.kind == "r_lstm":
        aux_window = min(aux.truncation, length + 1)
        segment = tokens[:, seq_len - length - 1 : seq_len - 1]

        def aux_lstm() -> None:
            h = torch.zeros(len(tokens), model.lstm.hidden_size, device=tokens.device)
            logits = model.aux(model.decoder_embed(segment[:, :-1]), h, h)
            backward(F.cross_entropy(logits.reshape(-1, model.aux.vocab_size), segment[:, 1:].reshape(-1)))
    else:
        aux_window = min(aux.truncation, length - 1)
        segment = tokens[:, :length]

        def aux_lstm() -> None:
            h = torch.zeros(len(tokens), model.lstm.hidden_size, device=tokens.device)
            inputs = torch.zeros(len(tokens), length, model.lstm.hidden_size, device=tokens.device)
            logits = model.aux(inputs, h, h)
            backward(F.cross_entropy(logits.reshape(-1, model.aux.vocab_size), segment.reshape(-1)))

    parts["auxiliary window"] = lambda: backward(model.run(tokens[:, :aux_window])[0].sum())
    parts["auxiliary LSTM"] = aux_lstm
    return parts


def measure(
    name: str, seq_len: int, segment: int, batch: int, repeats: int, device: torch.device, floor: bool = True,
    precision: str = "fp32",
) -> dict:  # fmt: skip
    kind, truncation, aux_changes = VARIANTS[name]
    aux = dataclasses.replace(AuxConfig(segment_len=segment), **aux_changes)
    train = TrainConfig(truncation=truncation, precision=precision)
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind=kind), aux, vocab_size=256, num_classes=10, seq_len=seq_len).to(device)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 256, (batch, seq_len), generator=gen).to(device)
    labels = torch.randint(0, 10, (batch,), generator=gen).to(device)
    memory = PeakMemory(device)

    def evaluate() -> None:
        with torch.no_grad(), autocast(device, precision):
            model(tokens)

    model.eval()  # first, while nothing is cached: on CPU the rise of the resident set is what the pass needs
    memory.start()
    evaluate()
    eval_peak = memory.peak_mb()
    model.train()
    saved, train_peaks = [0], []
    scaler = torch.amp.GradScaler(device.type, enabled=precision == "fp16")

    def step() -> None:
        memory.start()
        with autocast(device, precision):
            terms, saved[0] = saved_activation_bytes(
                lambda: compute_losses(model, tokens, labels, train=train, aux=aux, phase="joint", anchor_generator=gen)
            )
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(terms.total).backward()
        scaler.step(optimizer)
        scaler.update()
        train_peaks.append(memory.peak_mb())

    seconds = _timed(step, repeats, device)
    row = {
        "variant": name,
        "seq_len": seq_len,
        "ms_per_step": 1e3 * seconds,
        "saved_mb": saved[0] / 2**20,
        "train_peak_mb": max(train_peaks),  # on CPU the first step's: later ones reuse what it allocated
        "eval_peak_mb": eval_peak,
        "tokens_per_second": batch * seq_len / seconds,
    }
    if floor and kind != "transformer":
        parts = floor_parts(model, tokens, labels, train, aux)
        with autocast(device, precision):
            row["floor_ms"] = 1e3 * sum(_timed(fn, repeats, device) for fn in parts.values())
    return row


# glibc's malloc raises its mmap threshold as large blocks are freed and then keeps freed memory resident, which
# makes the rise of the resident set wander by tens of MB from run to run; a fixed threshold returns freed blocks.
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "65536"}


def _in_fresh_process(fn, *args):
    """fn(*args) in a new interpreter with a fixed mmap threshold: on CPU the rise of its resident set is then
    the memory the row needs, not what an earlier row or the allocator's caching left behind."""
    saved = {key: os.environ.get(key) for key in MALLOC_ENV}
    os.environ.update(MALLOC_ENV)  # read by the child's C library at start-up
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
            return pool.submit(fn, *args).result()
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key)
            else:
                os.environ[key] = value


QUICK = {"lengths": [512, 2048], "segment": 128, "batch": 8, "repeats": 1}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m study.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[784, 3136], help="up to 16,384 and beyond")
    parser.add_argument("--segment", type=int, default=600, help="aux.segment_len; below every length")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--no-floor", dest="floor", action="store_false", help="skip timing the bare calls")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"], help="autocast dtype")
    parser.add_argument("--quick", action="store_true", help=f"a check in under a minute on 2 cores: {QUICK}")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
        args.variants = [v for v in args.variants if v != "transformer"]
    if min(args.lengths) <= args.segment:
        parser.error(f"every length must exceed --segment {args.segment}")
    device = resolve_device(args.device)
    rows = [
        _in_fresh_process(measure, v, t, args.segment, args.batch, args.repeats, device, args.floor, args.precision)
        if device.type == "cpu"
        else measure(v, t, args.segment, args.batch, args.repeats, device, args.floor, args.precision)
        for t in args.lengths
        for v in args.variants
    ]
    print(
        f"device {device}, batch {args.batch}, segment {args.segment}, precision {args.precision}, "
        f"torch {torch.__version__}, threads {torch.get_num_threads()}"
    )
    memory = "CUDA peak" if device.type == "cuda" else "RSS rise"
    print(
        "| variant | T | ms/step | vs lstm full BPTT | step / floor | saved activations (MB) | "
        f"train {memory} (MB) | eval {memory} (MB) | tokens/s |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        base = next((r for r in rows if r["seq_len"] == row["seq_len"] and r["variant"] == "lstm full BPTT"), None)
        ratio = f"{row['ms_per_step'] / base['ms_per_step']:.2f}x" if base else "-"
        floor = f"{row['ms_per_step'] / row['floor_ms']:.2f}x" if "floor_ms" in row else "-"
        print(
            f"| {row['variant']} | {row['seq_len']} | {row['ms_per_step']:.0f} | {ratio} | {floor} | "
            f"{row['saved_mb']:.1f} | {row['train_peak_mb']:.0f} | {row['eval_peak_mb']:.0f} | "
            f"{row['tokens_per_second']:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
