"""The Ray-free storage check: a node-local path for a cluster the run joins is refused, naming --storage and the
fix; a URI of a filesystem every node reaches, a local cluster, or the user's --shared-storage lets it through."""

from __future__ import annotations

import pytest

from tuning.cluster import StorageError, check_storage, node_local


@pytest.mark.parametrize("storage", ["sweeps/x/ray", "/abs/ray", "./ray", "~/ray", "file:///shared/ray",
                                     "local:///tmp/ray", "C:\\sweeps\\ray"])  # fmt: skip
def test_paths_and_file_uris_are_node_local(storage):
    assert node_local(storage)


@pytest.mark.parametrize("storage", ["s3://bucket/prefix", "gs://bucket/p", "hdfs://nn:8020/p", "abfs://c@a/p",
                                     "S3://Bucket/p", "s3://bucket/p?endpoint_override=10.0.0.1:9000"])  # fmt: skip
def test_uris_of_remote_filesystems_are_not(storage):
    assert not node_local(storage)


@pytest.mark.parametrize("address", ["127.0.0.1:6379", "10.0.0.5:6379", "auto", "ray://head:10001"])
def test_a_node_local_path_for_a_joined_cluster_is_refused_naming_the_flag_and_the_fix(address, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    with pytest.raises(StorageError) as err:
        check_storage("/data/sweeps/x/ray", address)
    message = str(err.value)
    assert message.startswith("--storage /data/sweeps/x/ray is a path on this machine's disk")
    assert f"--address {address} joins a Ray cluster" in message
    assert "Unable to set up cluster storage" in message
    assert "s3://BUCKET/PREFIX" in message and "--shared-storage" in message


def test_ray_address_in_the_environment_counts_as_an_address(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.5:6379")
    with pytest.raises(StorageError, match=r"RAY_ADDRESS=10\.0\.0\.5:6379 joins a Ray cluster"):
        check_storage("file:///tmp/ray", None)
    check_storage("s3://bucket/sweeps", None)  # a URI every node reaches
    check_storage("/nfs/sweeps", None, shared=True)  # the user's word


@pytest.mark.parametrize("address", [None, "", "local"])
def test_a_local_cluster_always_takes_a_local_path(address, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    check_storage("sweeps/x/ray", address)


def test_a_local_ray_address_in_the_environment_is_a_local_cluster(monkeypatch):
    monkeypatch.setenv("RAY_ADDRESS", "local")
    check_storage("sweeps/x/ray", None)


@pytest.mark.parametrize("storage", ["s3://bucket/p", "gs://bucket/p"])
def test_a_remote_uri_or_a_shared_path_is_taken_with_an_address(storage, monkeypatch):
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    check_storage(storage, "10.0.0.5:6379")
    check_storage("/nfs/sweeps", "10.0.0.5:6379", shared=True)
