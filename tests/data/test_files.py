"""The shared file layer: pinned checksums, verified downloads (file:// stands in for the network), copies."""

from __future__ import annotations

import hashlib
import pathlib

import pytest

from data import DatasetError
from data.files import atomic_target, combined_digest, digest_if_official, download, ensure_pinned, file_digest

PAYLOAD = b"official bytes\n" * 1000
SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def original(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "original.bin"
    path.write_bytes(PAYLOAD)
    return path


def _no_fetch(target: pathlib.Path) -> None:
    raise AssertionError("must not fetch")


def test_digests(original: pathlib.Path) -> None:
    assert file_digest(original) == SHA256
    assert file_digest(original, "md5") == hashlib.md5(PAYLOAD).hexdigest()
    assert combined_digest([SHA256, "ab"]) == hashlib.sha256((SHA256 + "ab").encode()).hexdigest()


def test_atomic_target_leaves_nothing_on_failure(tmp_path: pathlib.Path) -> None:
    final = tmp_path / "out.bin"
    with pytest.raises(RuntimeError), atomic_target(final) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("writer failed")
    assert list(tmp_path.iterdir()) == []


def test_download_verifies_before_the_rename(tmp_path: pathlib.Path, original: pathlib.Path) -> None:
    target = tmp_path / "downloads" / "file.bin"
    with pytest.raises(DatasetError, match=r"sent a file with sha256 .*, expected 0+; nothing was kept .*; FIX"):
        download(original.as_uri(), target, "FIX", pinned=("sha256", "0" * 64))
    assert list(target.parent.iterdir()) == []
    with pytest.raises(DatasetError, match="not what we want; FIX"):
        download(original.as_uri(), target, "FIX", check=_refuse)
    assert list(target.parent.iterdir()) == []
    assert download(original.as_uri(), target, "FIX", pinned=("sha256", SHA256)) == target
    assert target.read_bytes() == PAYLOAD


def _refuse(tmp: pathlib.Path) -> None:
    assert tmp.read_bytes() == PAYLOAD  # the whole file is there before the check
    raise DatasetError("not what we want; FIX")


def test_failed_download_names_url_target_and_fix(tmp_path: pathlib.Path) -> None:
    url = (tmp_path / "absent.bin").as_uri()
    target = tmp_path / "downloads" / "file.bin"
    with pytest.raises(DatasetError, match="could not download") as info:
        download(url, target, "FIX")
    assert url in str(info.value) and str(target) in str(info.value) and str(info.value).endswith("FIX")
    assert list(target.parent.iterdir()) == []


def test_ensure_pinned_copies_a_source_once_and_keeps_a_verified_copy(
    tmp_path: pathlib.Path, original: pathlib.Path
) -> None:
    target = tmp_path / "downloads" / "file.bin"
    pinned = {"fetch": _no_fetch, "kept_fix": "KEPT"}
    assert ensure_pinned(target, "sha256", SHA256, source=original, source_fix="SOURCE", **pinned) == target
    assert target.read_bytes() == PAYLOAD
    stamp = target.stat().st_mtime_ns
    ensure_pinned(target, "sha256", SHA256, source=original, source_fix="SOURCE", **pinned)
    assert ensure_pinned(target, "sha256", SHA256, **pinned) == target
    assert target.stat().st_mtime_ns == stamp  # the same file: not copied again
    target.write_bytes(PAYLOAD[:-1])
    with pytest.raises(DatasetError, match=r"\(corrupt, truncated or a different file\); KEPT") as info:
        ensure_pinned(target, "sha256", SHA256, **pinned)
    assert str(target) in str(info.value)


def test_ensure_pinned_refuses_a_bad_source_and_fetches_only_when_missing(
    tmp_path: pathlib.Path, original: pathlib.Path
) -> None:
    target = tmp_path / "downloads" / "file.bin"
    with pytest.raises(DatasetError, match="does not exist; SOURCE"):
        missing = tmp_path / "nowhere"
        ensure_pinned(target, "sha256", SHA256, fetch=_no_fetch, kept_fix="", source=missing, source_fix="SOURCE")
    with pytest.raises(DatasetError, match=f"{original} has md5 .*; SOURCE"):
        ensure_pinned(target, "md5", "0" * 32, fetch=_no_fetch, kept_fix="", source=original, source_fix="SOURCE")
    assert list(target.parent.iterdir()) == []
    fetched = []
    ensure_pinned(target, "sha256", SHA256, fetch=fetched.append, kept_fix="")
    assert fetched == [target]


def test_only_an_archive_of_the_official_size_must_match_the_pin(original: pathlib.Path) -> None:
    assert digest_if_official(original, "sha256", len(PAYLOAD) + 1, "0" * 64, "URL") == SHA256
    with pytest.raises(DatasetError, match="download a fresh copy of URL"):
        digest_if_official(original, "sha256", len(PAYLOAD), "0" * 64, "URL")
    assert digest_if_official(original, "sha256", len(PAYLOAD), SHA256, "URL") == SHA256
