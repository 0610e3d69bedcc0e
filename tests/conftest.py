"""One real two-node Ray cluster on this machine for the whole session, with fixed CPU counts.

It is started the way the project starts its own (`tuning.cluster`): token authentication on, with a token made
for this session (`RAY_AUTH_TOKEN`, so nothing is written to ~/.ray), and every node on 127.0.0.1. The drivers the
tests start as subprocesses (`study.sweep --address ...`) inherit both through the environment.
"""

from __future__ import annotations

import os
import secrets

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Marks `shared_ray` the tests on this cluster: `make test` runs them in one pytest process and the rest beside
    it in another."""
    for item in items:
        if "ray_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.shared_ray)


@pytest.fixture(scope="session")
def ray_cluster():
    import ray
    from ray._raylet import AuthenticationTokenLoader
    from ray.cluster_utils import Cluster

    from tuning.cluster import LOOPBACK, init_ray, require_token_auth, single_machine

    # Workers' reports (and their checkpoints) reach the Train controller when it polls them; the default 2 s
    # is long next to these tests' sub-second epochs, so a killed worker could lose two of them.
    os.environ["RAY_TRAIN_HEALTH_CHECK_INTERVAL_S"] = "0.2"
    os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)  # Ray's own format: 256 random bits
    AuthenticationTokenLoader.instance().reset_cache()
    require_token_auth()  # refuses RAY_AUTH_MODE=disabled in the environment
    single_machine()
    node = {"num_cpus": 2, "node_ip_address": LOOPBACK}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False})
    cluster.add_node(**node)
    cluster.wait_for_nodes()
    init_ray(cluster.address)
    yield cluster
    ray.shutdown()
    cluster.shutdown()
    # The auth settings stay in the environment to the end: a core-worker thread still draining after shutdown
    # reloads the token while Ray's config says token mode, and Ray aborts the process if it is gone.
