"""Configuration owned by the model and the trainer; `study.run.config` composes it with the data config.

Defaults follow `docs/method.md`: what the paper states, and the reading taken where it is silent. Every open
question of the paper is an option here rather than a hard-coded guess.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NewType

# A key of models.MODELS (the registry): the config tree checks it while it is built.
ModelKind = NewType("ModelKind", str)


@dataclass(frozen=True)
class ModelConfig:
    kind: ModelKind = ModelKind("r_lstm")
    d_embed: int = 128  # token embedding [S]
    d_hidden: int = 128  # main LSTM units [S]
    d_ffn: int = 256  # classifier hidden width, "FFN (256, 256, N)" [S]; one hidden layer (docs/method.md Q10)
    ffn_layers: int = 1  # hidden layers of the classifier FFN (docs/method.md Q10: 1; the other reading is 2)
    channel_embedding: Literal["sum", "concat"] = "sum"  # RGB: per-channel embeddings summed or concatenated
    dropconnect: float = 0.5  # DropConnect on the last FFN layer of classifier and auxiliary heads [B]
    # What runs the LSTM layers (models.kernels): `auto` = the kernel measured fastest for the layer's size on the
    # device (cuDNN / PyTorch's own where nothing was measured faster); FlashRNN's need the `gpu` extra.
    recurrent_kernel: Literal["auto", "cudnn", "flashrnn-fused", "flashrnn-triton"] = "auto"
    # Transformer baseline of comparable size (docs/method.md Q12): pre-norm encoder, learned positions, mean pooling.
    transformer_layers: int = 2
    transformer_heads: int = 4
    transformer_ffn: int = 256
    transformer_dropout: float = 0.1


@dataclass(frozen=True)
class AuxConfig:
    weight: float = 1.0  # total loss = supervised + weight * auxiliary (docs/method.md Q8)
    segment_len: int = 600  # tokens reconstructed (r-LSTM) or predicted (p-LSTM) per anchor [S]
    anchors: int = 1  # anchors per example [S]
    truncation: int = 300  # main-LSTM steps the auxiliary gradient reaches [S]
    pretrain_epochs: int = 20  # auxiliary-only epochs before joint training (docs/method.md Q11)
    anchor_sampling: Literal["per_example", "per_batch"] = "per_example"  # docs/method.md Q4
    decoder_units: int = 256  # top layer of the 2-layer auxiliary LSTM [S]
    # Bottom layer of the auxiliary LSTM: `copy` has d_hidden units and takes the main (h, c) as is;
    # `project` has decoder_units units and starts from a learned linear map of (h, c) (docs/method.md Q2).
    decoder_init: Literal["copy", "project"] = "copy"
    decoder_truncation: int | None = None  # BPTT chunk of the auxiliary LSTM; null = whole segment (docs/method.md Q6)
    teacher_forcing: bool = True  # r-LSTM decoder reads ground truth, else its own argmax (docs/method.md Q7)
    # r-LSTM: the segment ends right before the anchor (`adjacent`, Fig. 2) or a uniform random number of
    # tokens earlier (`random`, the caption's "random subsequence") (docs/method.md Q5)
    segment_offset: Literal["adjacent", "random"] = "adjacent"
    share_embedding: bool = True  # r-LSTM decoder reads the main embedding table (docs/method.md)


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 100  # joint (or, without auxiliary loss, supervised) epochs (docs/method.md Q11)
    truncation: int | None = 300  # BPTT steps of the supervised loss; null = full BPTT
    # Full BPTT only: steps per chunk of the main LSTM whose activations are recomputed during backward instead
    # of kept (`models.checkpointed`); `sqrt` = ceil(sqrt(T)) per batch. null = off.
    checkpoint_chunk: int | Literal["sqrt"] | None = None
    supervised_grad: Literal["lstm", "head_only"] = "lstm"  # head_only: the paper's no-backprop extreme
    optimizer: Literal["rmsprop", "adam"] = "rmsprop"  # [B]
    lr: float = 1e-3  # [B]
    # RMSProp's squared-gradient decay and epsilon: PyTorch's defaults. The paper's code was TensorFlow, whose
    # defaults are 0.9 and 1e-10 (and which adds epsilon inside the square root) (docs/method.md Q14).
    rmsprop_alpha: float = 0.99
    rmsprop_eps: float = 1e-8
    # Learning rate per epoch (docs/method.md Q14): `none` keeps `lr`; `halve` lowers it smoothly towards lr / 2
    # over the P auxiliary pretraining epochs (lr * 0.5^(e/P)), then starts joint training at `lr` and halves it
    # after every `lr_halve_every` of the joint epochs, rounded (the community reimplementation's schedule, 0.3).
    lr_schedule: Literal["none", "halve"] = "none"
    lr_halve_every: float = 0.3
    grad_clip: float | None = 1.0  # global norm (docs/method.md)
    # A run whose epoch loss exceeds this multiple of the loss its phase started from stops as diverged; null = off.
    divergence_factor: float | None = 10.0
    seed: int = 0
    device: Literal["auto", "cpu", "cuda"] = "auto"
    # Autocast for forward passes (training and evaluation); fp16 adds dynamic loss scaling. Weights, optimizer
    # state and gradients stay fp32.
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    eval_batch_size: int = 512
