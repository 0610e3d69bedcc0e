"""Trial storage as Ray gets it (tuning.storage): a filesystem holding an S3-compatible endpoint given once and no
keys, joins that keep a query string, recorded locations that keep their scheme, and credentials in a URI refused."""

from __future__ import annotations

import pickle

import pyarrow.fs
import pytest

from tuning.storage import Storage, StorageURIError, endpoint_from_env, uri_of


def test_an_s3_storage_with_an_endpoint_gets_a_filesystem_with_it_and_a_path_without_the_scheme():
    fs, path = Storage("s3://bucket/sweeps/", "http://10.0.0.1:9000").place()
    assert isinstance(fs, pyarrow.fs.S3FileSystem) and path == "bucket/sweeps"
    assert b"10.0.0.1:9000" in pickle.dumps(fs)  # pyarrow keeps its options only in what it pickles


def test_the_filesystem_ray_pickles_into_the_bucket_holds_no_keys(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDSEEKRIT1234")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s3cr3t-value-never-pickled")
    fs, _ = Storage("s3://bucket/x", "https://minio.internal:9000").place()
    pickled = pickle.dumps(fs)
    assert b"AKIDSEEKRIT1234" not in pickled and b"s3cr3t-value-never-pickled" not in pickled
    assert b"minio.internal:9000" in pickled  # the endpoint travels with it: no node needs it in its environment


def test_paths_and_plain_uris_are_left_to_ray_and_a_query_string_goes_through_pyarrow(tmp_path):
    assert Storage(str(tmp_path / "ray")).place() == (None, str(tmp_path / "ray"))
    assert Storage("gs://bucket/x").place() == (None, "gs://bucket/x")
    fs, path = Storage("s3://bucket/x?endpoint_override=10.0.0.1%3A9000&scheme=http").place()
    assert isinstance(fs, pyarrow.fs.S3FileSystem) and path == "bucket/x"


def test_joins_go_below_the_path_and_keep_the_query_string(tmp_path):
    uri = "s3://bucket/x?endpoint_override=h%3A1"
    assert Storage(uri).join("sweep", "data").uri == "s3://bucket/x/sweep/data?endpoint_override=h%3A1"
    assert Storage("s3://bucket").join("a").uri == "s3://bucket/a"
    assert Storage(str(tmp_path)).join("a", "b").uri == str(tmp_path / "a" / "b")
    assert Storage("s3://b/x", "http://h:1").join("y").endpoint == "http://h:1"


def test_recorded_locations_keep_their_scheme():
    assert Storage("s3://bucket/ray").locate("bucket/ray/sweep/checkpoint_000001") == (
        "s3://bucket/ray/sweep/checkpoint_000001"
    )
    assert Storage("/shared/ray").locate("/shared/ray/s/checkpoint_000001") == "/shared/ray/s/checkpoint_000001"
    assert Storage("gs://b/r").locate("gs://b/r/c") == "gs://b/r/c"
    s3 = pyarrow.fs.S3FileSystem(endpoint_override="h:1", scheme="http")
    assert uri_of(s3, "bucket/ray/c") == "s3://bucket/ray/c"
    assert uri_of(pyarrow.fs.LocalFileSystem(), "/tmp/c") == "/tmp/c"
    assert uri_of(None, "/tmp/c") == "/tmp/c"


@pytest.mark.parametrize(
    ("storage", "endpoint", "named"),
    [
        ("s3://bucket/x?access_key=AK&secret_key=SK", None, "access_key, secret_key"),
        ("s3://bucket/x", "10.0.0.1:9000", "http(s)://HOST:PORT"),
        ("gs://bucket/x", "http://10.0.0.1:9000", "is for an s3:// storage"),
        ("/shared/x", "http://10.0.0.1:9000", "is for an s3:// storage"),
    ],
)
def test_credentials_in_the_uri_and_an_endpoint_that_cannot_be_used_are_refused(storage, endpoint, named):
    with pytest.raises(StorageURIError, match="--storage") as refused:
        Storage(storage, endpoint).place()
    assert named in str(refused.value)
    assert "SK" not in str(refused.value).replace("SKIP", "")  # the secret itself is not repeated


def test_the_endpoint_may_come_from_awss_own_variables(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL_S3", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert endpoint_from_env() is None
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://general:1")
    assert endpoint_from_env() == "http://general:1"
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://s3-only:2")
    assert endpoint_from_env() == "http://s3-only:2"
