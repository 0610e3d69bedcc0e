"""Long MNIST: real digits upsampled to SxS at load time, limited before resizing."""

from __future__ import annotations

import pathlib

import torch
import torch.nn.functional as F

from data import DATASETS, Dataset
from data.config import DataConfig
from data.mnist_long import load_mnist_long
from data.pixels import resize_pixels

LIMITS = {"limit_train": 40, "limit_eval": 30}


def test_default_and_90_pixel_sides(data_dir: pathlib.Path, mnist: Dataset) -> None:
    default = load_mnist_long(data_dir, DataConfig(name="mnist_long", **LIMITS))
    assert default.seq_len == 4096 and default.train.tokens.shape == (40, 4096)
    big = load_mnist_long(data_dir, DataConfig(name="mnist_long", image_size=90, **LIMITS))
    assert big.seq_len == 8100 and big.val.tokens.shape == (30, 8100) and big.test.tokens.shape == (30, 8100)
    for ds in (default, big):
        assert (ds.channels, ds.num_classes, ds.vocab_size, ds.name) == (1, 10, 256, "mnist_long")
        assert ds.train.tokens.dtype == torch.uint8 and 200 < int(ds.train.tokens.max()) <= 255
        assert torch.equal(ds.test.labels, mnist.test.labels[:30])  # limit_eval: the first examples


def test_downsampling_back_recovers_mnist(data_dir: pathlib.Path, mnist: Dataset) -> None:
    long = load_mnist_long(data_dir, DataConfig(name="mnist_long", image_size=56, **LIMITS))
    back = resize_pixels(long.test.tokens, 56, 28).to(torch.float32).view(30, 28, 28)
    original = mnist.test.tokens[:30].to(torch.float32).view(30, 1, 28, 28)
    # Bilinear x2 then area /2 is exactly a [1/8, 3/4, 1/8] blur per axis (edges replicated), up to two roundings.
    kernel = torch.tensor([0.125, 0.75, 0.125])
    blurred = F.conv2d(F.pad(original, (1, 1, 1, 1), mode="replicate"), (kernel[:, None] * kernel).view(1, 1, 3, 3))
    assert float((back - blurred[:, 0]).abs().max()) <= 1.0
    # So it is MNIST again, only slightly softer: about 5 grey levels of 255 on average, all at stroke edges.
    assert float((back - original[:, 0]).abs().mean()) < 8.0


def test_registry_entry() -> None:
    info = DATASETS["mnist_long"]
    assert info.kind == "stand-in for stanford_dogs" and "artificial" in info.description
    assert [info.max_steps(DataConfig(image_size=s)) for s in (None, 90, 128)] == [4096, 8100, 16384]
