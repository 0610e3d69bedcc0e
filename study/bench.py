"""`python -m study.bench`: time and activation memory of one training step per model kind and length.

Activation memory is the bytes autograd saves for backward during the forward (exact and repeatable on CPU);
on GPU the CUDA peak allocation is reported too. Step time is the median over `--repeats` steps after one
warm-up step. Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

import torch

from models import AuxConfig, ModelConfig, TrainConfig, build_model
from models.loop import compute_losses, resolve_device

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


def measure(name: str, seq_len: int, segment: int, batch: int, repeats: int, device: torch.device) -> dict:
    kind, truncation, aux_changes = VARIANTS[name]
    aux = dataclasses.replace(AuxConfig(segment_len=segment), **aux_changes)
    train = TrainConfig(truncation=truncation)
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind=kind), aux, vocab_size=256, num_classes=10, seq_len=seq_len).to(device)
    optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 256, (batch, seq_len), generator=gen).to(device)
    labels = torch.randint(0, 10, (batch,), generator=gen).to(device)

    def step() -> int:
        terms, saved = saved_activation_bytes(
            lambda: compute_losses(model, tokens, labels, train=train, aux=aux, phase="joint", anchor_generator=gen)
        )
        optimizer.zero_grad(set_to_none=True)
        terms.total.backward()
        optimizer.step()
        return saved

    step()
    times = []
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    for _ in range(repeats):
        started = time.perf_counter()
        saved = step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - started)
    row = {
        "variant": name,
        "seq_len": seq_len,
        "ms_per_step": 1e3 * statistics.median(times),
        "saved_mb": saved / 2**20,
    }
    if device.type == "cuda":
        row["cuda_peak_mb"] = torch.cuda.max_memory_allocated() / 2**20
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m study.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[784, 3136])
    parser.add_argument("--segment", type=int, default=600, help="aux.segment_len; below every length")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    args = parser.parse_args(argv)
    if min(args.lengths) <= args.segment:
        parser.error(f"every length must exceed --segment {args.segment}")
    device = resolve_device(args.device)
    rows = [measure(v, t, args.segment, args.batch, args.repeats, device) for t in args.lengths for v in args.variants]
    cuda = device.type == "cuda"
    print(
        f"device {device}, batch {args.batch}, segment {args.segment}, "
        f"torch {torch.__version__}, threads {torch.get_num_threads()}"
    )
    print(
        "| variant | T | ms/step | vs lstm full BPTT | saved activations (MB) |" + (" CUDA peak (MB) |" if cuda else "")
    )
    print("|---|---|---|---|---|" + ("---|" if cuda else ""))
    for row in rows:
        base = next((r for r in rows if r["seq_len"] == row["seq_len"] and r["variant"] == "lstm full BPTT"), None)
        ratio = f"{row['ms_per_step'] / base['ms_per_step']:.2f}x" if base else "-"
        line = f"| {row['variant']} | {row['seq_len']} | {row['ms_per_step']:.0f} | {ratio} | {row['saved_mb']:.1f} |"
        print(line + (f" {row['cuda_peak_mb']:.0f} |" if cuda else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
