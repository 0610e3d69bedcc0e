"""Tiny stand-ins for the official CIFAR-10 and Stanford Dogs files, in their exact layouts, for the tests."""

from __future__ import annotations

import io
import pathlib
import pickle
import tarfile

import numpy as np
import scipy.io
from PIL import Image

CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_BATCHES = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
# Three breeds with their official 1-based labels in lists.tar.
BREEDS = (("n02085620-Chihuahua", 1), ("n02085782-Japanese_spaniel", 2), ("n02085936-Maltese_dog", 3))


def cifar_batches(per_batch: int = 4, seed: int = 0) -> dict[str, tuple[np.ndarray, list[int]]]:
    """{batch name: (data (n, 3072) uint8 channel-planar, labels)} with random pixels and labels."""
    rng = np.random.default_rng(seed)
    return {
        name: (rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8), rng.integers(0, 10, per_batch).tolist())
        for name in CIFAR_BATCHES
    }


def _batch_pickle(name: str, data: np.ndarray, labels: list[int]) -> bytes:
    # Protocol 2 and these keys, as in the Python-2 era original.
    batch = {b"batch_label": name.encode(), b"labels": labels, b"data": data, b"filenames": [b"x.png"] * len(labels)}
    return pickle.dumps(batch, protocol=2)


def write_cifar_folder(directory: pathlib.Path, batches: dict[str, tuple[np.ndarray, list[int]]]) -> pathlib.Path:
    folder = directory / CIFAR_FOLDER
    folder.mkdir(parents=True)
    for name, (data, labels) in batches.items():
        (folder / name).write_bytes(_batch_pickle(name, data, labels))
    return folder


def write_cifar_tarball(
    path: pathlib.Path, batches: dict[str, tuple[np.ndarray, list[int]]], payloads: dict[str, bytes] | None = None
) -> pathlib.Path:
    """A gzipped tarball like cifar-10-python.tar.gz; `payloads` replaces members' bytes (to test damage)."""
    members = {name: _batch_pickle(name, data, labels) for name, (data, labels) in batches.items()}
    members.update(payloads or {})
    members["batches.meta"] = pickle.dumps({b"label_names": [b"airplane"]}, protocol=2)
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(f"{CIFAR_FOLDER}/{name}")
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path


def jpeg(colour: tuple[int, int, int], size: tuple[int, int] = (20, 14)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=95)
    return out.getvalue()


def dogs_lists(train_per_breed: int = 4, test_per_breed: int = 2, seed: int = 0) -> dict[str, list[tuple]]:
    """{split: [(relative path, 1-based label, solid colour)]} in the official list order (by breed)."""
    rng = np.random.default_rng(seed)
    out: dict[str, list[tuple]] = {"train": [], "test": []}
    for split, count in (("train", train_per_breed), ("test", test_per_breed)):
        for breed, label in BREEDS:
            for k in range(count):
                colour = tuple(int(v) for v in rng.integers(0, 256, 3))
                out[split].append((f"{breed}/{breed.split('-')[0]}_{split}{k}.jpg", label, colour))
    return out


def _mat(entries: list[tuple]) -> bytes:
    # As in the official lists: N x 1 cell arrays of strings and an N x 1 double array of labels.
    files = np.empty((len(entries), 1), dtype=object)
    for i, (rel, _, _) in enumerate(entries):
        files[i, 0] = rel
    annotations = np.empty_like(files)
    annotations[:, 0] = [rel.removesuffix(".jpg") for rel, _, _ in entries]
    labels = np.array([[float(label)] for _, label, _ in entries])
    out = io.BytesIO()
    scipy.io.savemat(out, {"file_list": files, "annotation_list": annotations, "labels": labels})
    return out.getvalue()


def write_dogs_source(directory: pathlib.Path, lists: dict[str, list[tuple]], layout: str) -> pathlib.Path:
    """Write `lists` as images.tar + lists.tar (layout "tar") or Images/ + .mat files (layout "folder")."""
    directory.mkdir(parents=True, exist_ok=True)
    images = {f"Images/{rel}": jpeg(colour) for entries in lists.values() for rel, _, colour in entries}
    mats = {"file_list.mat": _mat(lists["train"] + lists["test"])}
    mats.update({f"{split}_list.mat": _mat(entries) for split, entries in lists.items()})
    if layout == "tar":
        _write_tar(directory / "images.tar", images)
        _write_tar(directory / "lists.tar", mats)
    else:
        for name, payload in {**images, **mats}.items():
            (directory / name).parent.mkdir(parents=True, exist_ok=True)
            (directory / name).write_bytes(payload)
    return directory


def _write_tar(path: pathlib.Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tar:
        for name, payload in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
