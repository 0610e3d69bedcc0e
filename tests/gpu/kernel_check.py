"""`python -m tests.gpu.kernel_check`: each recurrent kernel against cuDNN on the device, in fp32.

Not a pytest module (it needs a GPU for its numbers; `tests/models/test_kernels.py` runs it on CPU, where every
kernel is exact). For each kernel: the auxiliary LSTM stack of the paper's size (a 128-unit layer under a 256-unit
one, 600 steps, batch 128) forward and backward, and a whole r-LSTM / p-LSTM Truncate300 loss at T = 784 with its
gradients, each as the largest difference to today's cuDNN path relative to the largest reference value. TF32 is
off for both, so the comparison is of fp32 arithmetic. Exit status 1 if any kernel is beyond the tolerance.
"""

from __future__ import annotations

import argparse
from functools import partial

import torch
from torch import nn

# Relative to the largest reference value: outputs and the loss after 600-784 fp32 steps, gradients summed over them.
TOLERANCE = {"outputs": 1e-4, "gradients": 1e-3}


def _relative(got: list[torch.Tensor], want: list[torch.Tensor]) -> float:
    got, want = [g.detach() for g in got], [w.detach() for w in want]
    scale = max(float(w.abs().max()) for w in want) or 1.0
    return max(float((g.float() - w.float()).abs().max()) for g, w in zip(got, want)) / scale


def stack_differences(kernel: str, units: tuple[int, int], steps: int, batch: int, device: torch.device):
    """The auxiliary stack (bottom, top) under `kernel` against cuDNN: (outputs, gradients) relative differences."""
    from models import kernels

    torch.manual_seed(0)
    bottom, top = nn.LSTM(units[0], units[0], batch_first=True), nn.LSTM(units[0], units[1], batch_first=True)
    bottom, top = bottom.to(device), top.to(device)
    x = torch.randn(batch, steps, units[0], device=device, requires_grad=True)
    h0 = torch.randn(1, batch, units[0], device=device, requires_grad=True)
    tensors = [x, h0, *bottom.parameters(), *top.parameters()]
    results = []
    for name in ("cudnn", kernel):
        out, _ = kernels.run(bottom, x, (h0, torch.zeros_like(h0)), name)
        out, (h, c) = kernels.run(top, out, None, name)
        loss = out.sin().sum() + h.sum() + c.sum()
        results.append(([out, h, c], list(torch.autograd.grad(loss, tensors))))
    (want_out, want_grad), (got_out, got_grad) = results
    return _relative(got_out, want_out), _relative(got_grad, want_grad)


def step_differences(kernel: str, kind: str, seq_len: int, segment: int, batch: int, device: torch.device):
    """One loss of `kind` (Truncate300, per-example anchors) under `kernel` against cuDNN: (loss, gradients)."""
    from models import AuxConfig, ModelConfig, TrainConfig, build_model
    from models.loop import compute_losses

    aux, train = AuxConfig(segment_len=segment, truncation=min(300, segment)), TrainConfig(truncation=300)
    gen = torch.Generator().manual_seed(0)
    tokens = torch.randint(0, 256, (batch, seq_len), generator=gen).to(device)
    labels = torch.randint(0, 10, (batch,), generator=gen).to(device)
    results = []
    for name in ("cudnn", kernel):
        torch.manual_seed(0)
        cfg = ModelConfig(kind=kind, recurrent_kernel=name, dropconnect=0.0)
        model = build_model(cfg, aux, vocab_size=256, num_classes=10, seq_len=seq_len).to(device)
        anchors = torch.Generator().manual_seed(1)
        terms = compute_losses(model, tokens, labels, train=train, aux=aux, phase="joint", anchor_generator=anchors)
        results.append(([terms.main, terms.aux], list(torch.autograd.grad(terms.total, list(model.parameters())))))
    (want_loss, want_grad), (got_loss, got_grad) = results
    return _relative(got_loss, want_loss), _relative(got_grad, want_grad)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.gpu.kernel_check", description=__doc__.splitlines()[0])
    parser.add_argument("--kernels", nargs="+", default=["flashrnn-fused", "flashrnn-triton"])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--units", type=int, nargs=2, default=[128, 256], help="the stack's bottom and top layers")
    parser.add_argument("--steps", type=int, default=600, help="aux.segment_len")
    parser.add_argument("--seq-len", type=int, default=784)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args(argv)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    device = torch.device(args.device)
    print(f"device {torch.cuda.get_device_name() if device.type == 'cuda' else 'cpu'}, fp32, TF32 off; "
          f"relative to the largest cuDNN value; tolerance {TOLERANCE}")  # fmt: skip
    print("| kernel | what | outputs / loss | gradients | within tolerance |\n|---|---|---|---|---|")
    ok = True
    for kernel in args.kernels:
        checks = {
            f"stack {args.units[0]}+{args.units[1]}, {args.steps} steps": partial(
                stack_differences, kernel, tuple(args.units), args.steps, args.batch, device
            ),
            **{
                f"{kind} Truncate300 loss, T={args.seq_len}": partial(
                    step_differences, kernel, kind, args.seq_len, args.steps, args.batch, device
                )
                for kind in ("r_lstm", "p_lstm")
            },
        }
        for what, check in checks.items():
            try:
                outputs, grads = check()
            except Exception as err:  # a kernel that cannot run here is a finding, not the end of the check
                print(f"| {kernel} | {what} | failed: {type(err).__name__}: {str(err)[:200]} | - | no |")
                ok = False
                continue
            within = outputs <= TOLERANCE["outputs"] and grads <= TOLERANCE["gradients"]
            ok &= within
            print(f"| {kernel} | {what} | {outputs:.1e} | {grads:.1e} | {'yes' if within else 'no'} |")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
