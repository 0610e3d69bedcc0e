"""`python -m study.bench`: time and memory of one training step, and of evaluation, per model kind and length.

Prints Markdown tables for BENCHMARKS.md: the step against its floor (the bare calls it cannot avoid), saved
activations, training and evaluation peaks and tokens/s; for the auxiliary kinds the step's no-grad pass with each
strategy; with `--processes`, the throughput of several training processes sharing the device. What each column
measures, and how: `study.cost.bench`.
"""


from __future__ import annotations

import argparse

from study.run.shadowing import refuse_shadowed

QUICK = {"lengths": [512, 2048], "segment": 128, "batch": 8, "repeats": 1}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from models.kernels import KERNEL_NAMES
    from study.cost.bench import VARIANTS

    parser = argparse.ArgumentParser(prog="python -m study.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[784, 3136], help="up to 16,384 and beyond")
    parser.add_argument("--segment", type=int, default=600, help="aux.segment_len; below every length")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument(
        "--kernels", nargs="+", default=["auto"], choices=list(KERNEL_NAMES),
        help="model.recurrent_kernel of each row; several: every variant under each, and a table side by side",
    )  # fmt: skip
    parser.add_argument("--no-floor", dest="floor", action="store_false", help="skip timing the bare calls")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16", "fp16"], help="autocast dtype")
    parser.add_argument("--quick", action="store_true", help=f"a check in under a minute on 2 cores: {QUICK}")
    parser.add_argument(
        "--processes", type=int, nargs="+", metavar="N",
        help="instead: total tokens/s of N concurrent training processes on the device, each --repeats steps",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
        args.variants = [v for v in args.variants if v != "transformer"]
    if min(args.lengths) <= args.segment:
        parser.error(f"every length must exceed --segment {args.segment}")
    return args


def main(argv: list[str] | None = None) -> int:
    refuse_shadowed("auxlstm-bench")
    import torch

    from models.loop import resolve_device
    from study.cost.bench import concurrency_table, kernel_table, measure, step_table
    from study.cost.fresh_process import in_fresh_process

    args = parse_args(argv)
    device = resolve_device(args.device)
    print(
        f"device {device}, batch {args.batch}, segment {args.segment}, precision {args.precision}, "
        f"torch {torch.__version__}, threads {torch.get_num_threads()}"
    )
    if args.processes:
        print(f"Concurrent training processes on one device, {args.repeats} steps each after a warm-up:")
        lines = concurrency_table(args.processes, args.variants, args.lengths, args.segment, args.batch,
                                  args.repeats, device, args.precision)  # fmt: skip
        print("\n".join(lines))
        return 0
    run = in_fresh_process if device.type == "cpu" else lambda fn, *a: fn(*a)
    rows = [
        run(measure, v, t, args.segment, args.batch, args.repeats, device, args.floor, args.precision, k)
        for t in args.lengths
        for k in args.kernels
        for v in args.variants
    ]
    print("\n".join(step_table(rows)))
    if len(args.kernels) > 1:
        print("\nRecurrent kernels side by side (model.recurrent_kernel; models.kernels):")
        print("\n".join(kernel_table(rows)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
