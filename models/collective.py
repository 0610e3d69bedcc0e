"""Reductions across data-parallel workers, behind one small interface the trainer can call without Ray.

`SingleProcess` is the default; `TorchDistributed` uses an initialised torch.distributed process group (Gloo on
CPU, NCCL on GPU), whoever started it.
"""

from __future__ import annotations

import torch
import torch.distributed as dist


class SingleProcess:
    rank, world_size = 0, 1

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        return values

    def max(self, values: torch.Tensor) -> torch.Tensor:
        return values


class TorchDistributed:
    """All-reduce over the default process group; tensors are reduced on the group's device."""

    def __init__(self, device: torch.device) -> None:
        self.rank, self.world_size, self.device = dist.get_rank(), dist.get_world_size(), device

    def _reduce(self, values: torch.Tensor, op: dist.ReduceOp) -> torch.Tensor:
        # float64 keeps sums of per-example losses over a whole epoch exact enough to compare runs
        reduced = values.to(self.device, torch.float64).clone()
        dist.all_reduce(reduced, op=op)
        return reduced.to(values.device)

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        return self._reduce(values, dist.ReduceOp.SUM)

    def max(self, values: torch.Tensor) -> torch.Tensor:
        return self._reduce(values, dist.ReduceOp.MAX)


Collective = SingleProcess | TorchDistributed


SINGLE_PROCESS = SingleProcess()
