"""What the registry knows of a model kind: what it means to the rest of the project, and how to build it.

Every question outside `models/` about a kind (does it have an auxiliary loss, does truncated BPTT apply, which
config keys does it read, what does the paper call it) is answered by its `KindInfo`, never by its name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from torch import nn

# (model config, aux config, *, vocab_size, num_classes, seq_len, channels) -> the network
Builder = Callable[..., nn.Module]

# Config keys that only some kinds read (fnmatch patterns); a key no kind claims is read by every kind.
RECURRENT_KEYS = (
    "model.d_hidden", "model.recurrent_kernel", "train.truncation", "train.checkpoint_chunk", "train.supervised_grad",
)  # fmt: skip
AUXILIARY_KEYS = (
    "aux.weight", "aux.segment_len", "aux.anchors", "aux.truncation", "aux.pretrain_epochs", "aux.anchor_sampling",
    "aux.decoder_units", "aux.decoder_init", "aux.decoder_truncation",
)  # fmt: skip
RECONSTRUCTION_KEYS = ("aux.teacher_forcing", "aux.segment_offset", "aux.share_embedding")


@dataclass(frozen=True)
class KindInfo:
    name: str  # its key in models.MODELS (model.kind)
    paper_name: str  # how the paper names it: 'r-LSTM'
    description: str
    build: Builder
    # The auxiliary loss: `reconstruct` the segment before an anchor (r-LSTM), `predict` the one after it
    # (p-LSTM), or None.
    auxiliary: Literal["reconstruct", "predict"] | None = None
    # Reads the sequence step by step, so truncated BPTT, checkpointed full BPTT and head_only apply. A kind that
    # is not recurrent reads the whole sequence at once (full BPTT, train.truncation null).
    recurrent: bool = True
    reads: tuple[str, ...] = ()  # the kind-specific config keys it reads (fnmatch patterns of dotted keys)

