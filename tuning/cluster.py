"""Whether a Ray cluster address answers, checked before `ray.init` (which otherwise retries for minutes).

Ray-free: a TCP connection to the head's GCS port. `auto` (the cluster `ray start` left on this machine) and no
address (a local cluster) are Ray's to resolve and are not checked.
"""

from __future__ import annotations

import socket

TIMEOUT_S = 10.0


class ClusterError(RuntimeError):
    """The Ray address does not answer; the message names it and what to check."""


def check_address(address: str | None, timeout_s: float = TIMEOUT_S) -> None:
    if not address or address in ("auto", "local"):
        return
    host_port = address.split("://", 1)[-1]
    host, _, port = host_port.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterError(f"--address {address!r}: expected HOST:PORT (the head node's GCS, port 6379 by default)")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            return
    except OSError as err:
        raise ClusterError(
            f"no Ray cluster answers at {address} ({err}); start one there with `ray start --head`, check the host "
            "and port, or leave --address out for a local cluster"
        ) from err
