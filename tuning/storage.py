"""Trial storage as Ray Tune and Ray Train take it: a place (`storage_path`) and the pyarrow filesystem reaching it.

A sweep's storage is a path or a URI (`s3://BUCKET/PREFIX`, `gs://...`), and for an S3-compatible server (MinIO,
Ceph, moto) an endpoint given once, on the driver (`--storage-endpoint` or AWS's own `AWS_ENDPOINT_URL_S3` /
`AWS_ENDPOINT_URL`). Ray pickles the filesystem built here into every trial, so no node needs the endpoint in its
environment. The filesystem never holds credentials: Ray also pickles it into the bucket (`tuner.pkl`), in plain
text. Keys come from each process's environment or instance role, and Tune hands the driver's `AWS_*` keys to its
trials (measured, Ray 2.60: `ray.tune.execution.class_cache`).

Every join goes through `join` (never string concatenation on the URI, which breaks on a query string), and a
location recorded for the user keeps its scheme (`locate`): Tune reports a checkpoint on a filesystem it was given
as `BUCKET/PREFIX/...`, which no tool opens without the `s3://`.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import pyarrow.fs

ENDPOINT_ENVS = ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")  # AWS's own names, in AWS's order of precedence
_SECRETS = ("access_key", "secret_key", "session_token")
_SCHEMES = {"s3": "s3", "gcs": "gs", "hdfs": "hdfs"}  # pyarrow's filesystem type name: the URI scheme users write


class StorageURIError(ValueError):
    """A storage URI or endpoint that cannot be used as given; the message says which and the fix."""


def endpoint_from_env() -> str | None:
    return next((os.environ[name] for name in ENDPOINT_ENVS if os.environ.get(name)), None)


@dataclass(frozen=True)
class Storage:
    """Where trials keep their state and checkpoints: `uri` as the user gave it, and the S3 endpoint if any."""

    uri: str
    endpoint: str | None = None

    @property
    def scheme(self) -> str:
        scheme = urlsplit(self.uri).scheme.lower()
        return "" if len(scheme) <= 1 or scheme in ("file", "local") else scheme

    def check(self) -> None:
        """Refuse credentials in the URI (Ray would pickle them into the bucket) and an endpoint it cannot use."""
        query = urlsplit(self.uri).query
        secret = [key for key in _SECRETS if f"{key}=" in query]
        if secret:
            raise StorageURIError(
                f"--storage {self.uri.split('?')[0]}?...: {', '.join(secret)} in the URI would be written in plain "
                "text into the storage (Ray pickles the filesystem into tuner.pkl); give the keys through "
                "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or an instance role) instead"
            )
        if self.endpoint:
            parts = urlsplit(self.endpoint)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise StorageURIError(
                    f"--storage-endpoint {self.endpoint}: expected http(s)://HOST:PORT of an S3-compatible server"
                )
            if self.scheme != "s3":
                raise StorageURIError(
                    f"--storage-endpoint {self.endpoint} is for an s3:// storage, but --storage is {self.uri}"
                )

    def place(self) -> tuple[pyarrow.fs.FileSystem | None, str]:
        """(filesystem, path) for Ray's `storage_filesystem` and `storage_path`; (None, uri) where Ray resolves
        the URI itself (a local path, or a cloud URI with nothing to add)."""
        self.check()
        if not self.scheme:
            return None, os.path.abspath(self.uri.removeprefix("file://").removeprefix("local://"))
        parts = urlsplit(self.uri)
        if self.endpoint and self.scheme == "s3":
            endpoint = urlsplit(self.endpoint)
            fs = pyarrow.fs.S3FileSystem(endpoint_override=endpoint.netloc, scheme=endpoint.scheme)
            return fs, f"{parts.netloc}{parts.path}".rstrip("/")
        if parts.query:  # options such as ?endpoint_override=...: pyarrow reads them, the path is without them
            return pyarrow.fs.FileSystem.from_uri(self.uri)
        return None, self.uri

    def resolve(self) -> tuple[pyarrow.fs.FileSystem, str]:
        """(filesystem, path) for this project's own reads and writes: `place`, with the filesystem Ray would
        make of a URI it resolves itself."""
        fs, path = self.place()
        return (fs, path) if fs is not None else pyarrow.fs.FileSystem.from_uri(path)

    def join(self, *names: str) -> Storage:
        """The storage one level (or more) down: `names` added to the path, the query string kept."""
        parts = urlsplit(self.uri)
        if not self.scheme:
            return Storage(os.path.join(self.uri, *names), self.endpoint)
        path = posixpath.join(parts.path or "/", *names)
        return Storage(urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment)), self.endpoint)

    def locate(self, path: str) -> str:
        """A path Ray reports on this storage's filesystem (`BUCKET/x/...`), as a URI users can open."""
        if "://" in path or not self.scheme:
            return path
        return f"{self.scheme}://{path.lstrip('/')}"


def uri_of(fs: pyarrow.fs.FileSystem | None, path: str) -> str:
    """`path` on `fs` as a URI (`s3://BUCKET/...`); a local path stays as it is."""
    scheme = _SCHEMES.get(getattr(fs, "type_name", "local"), "")
    if not scheme or "://" in path:
        return path
    return f"{scheme}://{path.lstrip('/')}"
