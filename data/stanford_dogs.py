"""Stanford Dogs (real): 120 breeds, each whole image resized (no crop) to SxS RGB and read in raster order.

Source: the official images.tar and lists.tar (DATA_DIR/downloads/, downloaded, or a --source directory holding
them), or the extracted Images/ folder next to train_list.mat and test_list.mat. One set of Parquet files per
side S (DATA_DIR/stanford_dogs/S{S}/), built on first use of that side. Splits: the official 12,000 training
images split 10,800 / 1,200 by a fixed seed, and the official 8,580 test images.
"""

from __future__ import annotations

import io
import json
import pathlib
import tarfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from PIL import Image

from data.catalog import DatasetInfo
from data.config import DataConfig, check_image_size
from data.errors import DatasetError
from data.files import (
    atomic_target,
    combined_digest,
    digest_if_official,
    ensure_dir,
    ensure_download,
    file_digest,
)
from data.parquet_io import read_metadata
from data.pixels import image_dataset, image_steps
from data.splits import Dataset
from data.storage import is_prepared, read_splits, write_splits
from data.transforms import hold_out

FORMAT_VERSION = "1"
DEFAULT_SIDE = 64  # S in {32, 64, 90, 128} gives T in {1024, 4096, 8100, 16384} (docs/method.md, Data lengths)
CHANNELS = 3
NUM_CLASSES = 120
SPLIT_SIZES = (10_800, 1_200, 8_580)
VAL_FRACTION = 10  # a tenth of the official training list is held out
VAL_SEED = 2018_0302
HOME = "http://vision.stanford.edu/aditya86/ImageNetDogs/"
# name: (size in bytes, sha256), as pinned by tensorflow_datasets (url_checksums/stanford_dogs.txt).
ARCHIVES = {
    "lists.tar": (481_280, "34b47cacd9a98b5d150e084f24d29391c084c55272295ec65c85651bc35f4d6c"),
    "images.tar": (793_579_520, "a443fc2f9a851aa1a7b8e4fa4af94b8459fce2c9f5a2f4dd4669cf9673a4ec58"),
}
LISTS = {"train": "train_list.mat", "test": "test_list.mat"}
_REPAIR = "the image list names it: replace the images with the official ones"
_RECORD = "source.json"  # where a --source was, so that later sides can be built from it too


def dogs_dir(data_dir: pathlib.Path) -> pathlib.Path:
    return data_dir / "stanford_dogs"


def side_dir(data_dir: pathlib.Path, side: int) -> pathlib.Path:
    return dogs_dir(data_dir) / f"S{side}"


def _fix(data_dir: pathlib.Path) -> str:
    return (
        f"download images.tar and lists.tar from {HOME} into {data_dir / 'downloads'}, or run "
        f"`python -m data.prepare stanford_dogs --data-dir {data_dir} --source DIR` with DIR holding those two "
        f"files, or the extracted Images/ folder next to {LISTS['train']} and {LISTS['test']}"
    )


@dataclass(frozen=True)
class RawSource:
    images: pathlib.Path  # images.tar, or the Images/ folder
    lists: pathlib.Path  # lists.tar, or the folder holding train_list.mat and test_list.mat
    checksum: str  # names this exact copy in the Parquet metadata


def find_source(data_dir: pathlib.Path, source: pathlib.Path | None) -> RawSource:
    """The raw files from `source`, else from a recorded earlier --source, else DATA_DIR/downloads/ (fetched)."""
    if source is None:
        source = _recorded_source(data_dir)
    return _downloaded(data_dir) if source is None else _from_directory(data_dir, source)


def _downloaded(data_dir: pathlib.Path) -> RawSource:
    for name, (_, sha256) in ARCHIVES.items():  # lists.tar first: small, so a network failure shows early
        ensure_download(HOME + name, data_dir / "downloads" / name, "sha256", sha256, _fix(data_dir))
    images, lists = data_dir / "downloads" / "images.tar", data_dir / "downloads" / "lists.tar"
    return RawSource(images, lists, combined_digest((ARCHIVES[images.name][1], ARCHIVES[lists.name][1])))


def _from_directory(data_dir: pathlib.Path, source: pathlib.Path) -> RawSource:
    images = source / "images.tar" if (source / "images.tar").is_file() else source / "Images"
    lists = source / "lists.tar" if (source / "lists.tar").is_file() else source
    has_lists = lists.is_file() or all((lists / n).is_file() for n in LISTS.values())
    if not source.is_dir() or not (images.is_file() or images.is_dir()) or not has_lists:
        raise DatasetError(
            f"--source {source} holds neither images.tar + lists.tar nor Images/ + the .mat lists; {_fix(data_dir)}"
        )
    if images.is_file():
        image_digest = _archive_digest(images)
    else:  # names and sizes: enough to notice another copy, without reading 750 MB of JPEGs
        lines = sorted(f"{p.relative_to(images)}\t{p.stat().st_size}" for p in images.rglob("*") if p.is_file())
        image_digest = combined_digest(["\n".join(lines)])
    if lists.is_file():
        list_digest = _archive_digest(lists)
    else:
        list_digest = combined_digest(file_digest(lists / n) for n in LISTS.values())
    return RawSource(images, lists, combined_digest((image_digest, list_digest)))


def _archive_digest(path: pathlib.Path) -> str:
    size, sha256 = ARCHIVES[path.name]
    return digest_if_official(path, "sha256", size, sha256, HOME + path.name)


def _recorded_source(data_dir: pathlib.Path) -> pathlib.Path | None:
    try:
        recorded = pathlib.Path(json.loads((dogs_dir(data_dir) / _RECORD).read_text())["source"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return recorded if recorded.is_dir() else None


def _record_source(data_dir: pathlib.Path, source: pathlib.Path) -> None:
    with atomic_target(ensure_dir(dogs_dir(data_dir)) / _RECORD) as tmp:
        tmp.write_text(json.dumps({"source": str(source.resolve())}))


def read_lists(lists: pathlib.Path) -> dict[str, tuple[list[str], np.ndarray]]:
    """{split: (relative image paths, 0-based labels)} from lists.tar or a folder of the official .mat files."""
    import scipy.io  # here, not at the top: it adds 0.15 s to every `import data`

    out = {}
    for split, name in LISTS.items():
        where = f"{lists} ({name})" if lists.is_file() else str(lists / name)
        try:
            payload = _tar_member(lists, name) if lists.is_file() else (lists / name).read_bytes()
            mat = scipy.io.loadmat(io.BytesIO(payload))
            files = [str(np.asarray(cell).ravel()[0]) for cell in np.asarray(mat["file_list"]).ravel()]
            labels = np.asarray(mat["labels"]).ravel().astype(np.int64) - 1
        except (OSError, ValueError, TypeError, KeyError, IndexError, NotImplementedError, tarfile.TarError) as exc:
            raise DatasetError(f"cannot read the image list {where} ({exc!r}); use the official file") from exc
        bad = [f for f in files if pathlib.PurePosixPath(f).is_absolute() or ".." in f.split("/")]
        if len(files) != len(labels) or not files or bad or labels.min() < 0 or labels.max() >= NUM_CLASSES:
            raise DatasetError(f"{where}: expected matching file_list and labels (1..120) with relative paths")
        out[split] = (files, labels)
    return out


def _tar_member(archive: pathlib.Path, basename: str) -> bytes:
    with tarfile.open(archive, "r:*") as tar:
        for member in tar:
            if member.isfile() and pathlib.PurePosixPath(member.name).name == basename:
                return tar.extractfile(member).read()
    raise KeyError(f"no member {basename}")


@contextmanager
def open_images(images: pathlib.Path) -> Iterator[Callable[[str], bytes]]:
    """A function from a list path ('n02085620-Chihuahua/x.jpg') to the JPEG bytes, in images.tar or Images/."""
    if images.is_dir():
        yield lambda rel: (images / rel).read_bytes()
        return
    try:
        tar = tarfile.open(images, "r:*")
        index = {m.name.removeprefix("./").removeprefix("Images/"): m for m in tar.getmembers() if m.isfile()}
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DatasetError(f"cannot read {images} (corrupt or truncated: {exc}); download it again") from exc
    with tar:
        yield lambda rel: tar.extractfile(index[rel]).read()


def decode_image(payload: bytes, side: int, where: str) -> np.ndarray:
    """A JPEG as (side*side, 3) uint8: RGB, the whole image resized (no crop, bilinear), raster order."""
    try:
        with Image.open(io.BytesIO(payload)) as image:
            resized = image.convert("RGB").resize((side, side), Image.Resampling.BILINEAR)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:  # UnidentifiedImageError is an OSError
        raise DatasetError(f"cannot decode {where} ({exc}); replace the dataset files") from exc
    return np.asarray(resized, dtype=np.uint8).reshape(side * side, CHANNELS)


def _convert(raw: RawSource, files: list[str], side: int) -> np.ndarray:
    pixels = np.empty((len(files), side * side, CHANNELS), dtype=np.uint8)
    with open_images(raw.images) as read:
        for i, rel in enumerate(files):
            where = f"{raw.images} ({rel})"
            try:
                payload = read(rel)
            except (OSError, KeyError, tarfile.TarError) as exc:
                raise DatasetError(f"cannot read {where} ({exc!r}); {_REPAIR}") from exc
            pixels[i] = decode_image(payload, side, where)
    return pixels


def prepare_side(data_dir: pathlib.Path, side: int, source: pathlib.Path | None = None) -> pathlib.Path:
    """Build the Parquet files for side S unless done for this source; return their directory."""
    out = side_dir(data_dir, check_image_size(side))
    expected = {"format_version": FORMAT_VERSION, "image_side": str(side)}
    if source is None and is_prepared(out, expected):
        return out
    raw = find_source(data_dir, source)
    if source is not None:
        _record_source(data_dir, source)
    if is_prepared(out, {**expected, "source_checksum": raw.checksum}):
        return out
    lists = read_lists(raw.lists)
    meta = {"dataset": "stanford_dogs", "num_classes": str(NUM_CLASSES), "source": HOME, **expected}
    meta["source_checksum"] = raw.checksum
    files, labels = lists["train"]
    train, val = hold_out(len(files), len(files) // VAL_FRACTION, VAL_SEED)
    pixels = _convert(raw, files, side)
    write_splits(out, {"train": (pixels[train], labels[train]), "val": (pixels[val], labels[val])}, meta)
    del pixels  # one split at a time: 12,000 images at S=128 already take 590 MB
    files, labels = lists["test"]
    write_splits(out, {"test": (_convert(raw, files, side), labels)}, meta)
    _drop_stale_sides(data_dir, raw.checksum)
    return out


def _drop_stale_sides(data_dir: pathlib.Path, checksum: str) -> None:
    # Sides built from another copy of the raw files are deleted, so a later load rebuilds them from this one.
    for path in dogs_dir(data_dir).glob("S*/*.parquet"):
        meta = read_metadata(path)
        if meta is None or meta.get("source_checksum") != checksum:
            path.unlink(missing_ok=True)


def prepare_stanford_dogs(data_dir: pathlib.Path, source: pathlib.Path | None = None) -> pathlib.Path:
    """Verify (or fetch) the raw files and build the default side; other sides are built when first loaded.

    Without a source, any side already built counts as prepared, so that loading side S does not build 64 too.
    """
    sides = dogs_dir(data_dir).glob("S*")
    if source is None and any(is_prepared(d, {"format_version": FORMAT_VERSION}) for d in sides):
        return dogs_dir(data_dir)
    prepare_side(data_dir, DEFAULT_SIDE, source)
    return dogs_dir(data_dir)


def load_stanford_dogs(data_dir: pathlib.Path, cfg: DataConfig) -> Dataset:
    """The splits at side cfg.image_size (default 64; built on first use), limited by limit_train / limit_eval."""
    side = cfg.image_size or DEFAULT_SIDE
    out = prepare_side(data_dir, side)
    fix = f"delete {out} and load again: the side is rebuilt from the raw files"
    expected = {"format_version": FORMAT_VERSION, "image_side": str(side)}
    return image_dataset(read_splits(out, fix, expected, side * side, CHANNELS), cfg, side, NUM_CLASSES, CHANNELS)


INFO = DatasetInfo(
    name="stanford_dogs",
    description=(
        "Stanford Dogs, 120 breeds; each whole image resized (no crop, bilinear) to SxS RGB, one pixel per step "
        "(official 12,000 train split 10,800/1,200 by a fixed seed, official 8,580 test)"
    ),
    kind="real",
    source=f"{HOME} images.tar + lists.tar (sha256-pinned), or a local copy via --source DIR",
    licence="ImageNet images; research/non-commercial use",
    num_classes=NUM_CLASSES,
    channels=CHANNELS,
    lengths="S*S RGB steps, S = data.image_size (default 64; 32/64/90/128 give 1024/4096/8100/16384)",
    split_sizes=SPLIT_SIZES,
    max_steps=image_steps(DEFAULT_SIDE),
    prepare=prepare_stanford_dogs,
    load=load_stanford_dogs,
    local_copy="a folder with images.tar + lists.tar (or Images/ + .mat lists)",
)
