"""One training step's and one evaluation pass's peak memory on CPU, measured in a fresh process (the rise of its
resident set), cached: tests of truncated and checkpointed memory ask for the same runs."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys

from study.cost.fresh_process import MALLOC_ENV

MEASURE = """
import json, sys, torch
from models import AuxConfig, ModelConfig, TrainConfig, build_model
from models.loop import compute_losses
from models.metrics import PeakMemory
kind, seq_len, truncation = sys.argv[1], int(sys.argv[2]), None if sys.argv[3] == "none" else int(sys.argv[3])
chunk = None if sys.argv[4] == "none" else "sqrt"
import torch._dynamo  # what checkpoint imports on its first call: ~70 MB resident once per process, not the step's
torch.set_num_threads(1)
torch.manual_seed(0)
aux = AuxConfig(segment_len=32, truncation=32, decoder_units=32)
model = build_model(ModelConfig(kind=kind, d_embed=32, d_hidden=32, d_ffn=32), aux, vocab_size=256, num_classes=10,
                    seq_len=seq_len)
tokens, labels = torch.randint(0, 256, (16, seq_len)), torch.randint(0, 10, (16,))
memory = PeakMemory(torch.device("cpu"))
memory.start()
terms = compute_losses(model, tokens, labels, train=TrainConfig(truncation=truncation, checkpoint_chunk=chunk), aux=aux,
                       phase="joint", anchor_generator=torch.Generator().manual_seed(0))
terms.total.backward()
train = memory.peak_mb()
model.eval()
memory.start()
with torch.no_grad():
    model(tokens)
print(json.dumps({"train": train, "eval": memory.peak_mb()}))
"""


@functools.cache  # the same run is asked for by several tests
def peaks(kind: str, seq_len: int, truncation: int | None, chunk: str | None = None) -> dict[str, float]:
    """Training and evaluation peaks (MB) of one step, in a fresh process; `chunk` "sqrt" checkpoints full BPTT."""
    argv = [sys.executable, "-c", MEASURE, kind, str(seq_len), str(truncation).lower(), str(chunk).lower()]
    env = {**os.environ, **MALLOC_ENV}  # the resident set then follows live memory, not malloc's caching
    result = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=300, env=env)
    return json.loads(result.stdout)
