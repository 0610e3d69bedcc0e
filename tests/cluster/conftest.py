"""One cluster of namespaced nodes that share no disk (tests/cluster/nodes.py) for this folder's tests, all marked
`slow` and `cluster`. A machine that cannot build it fails them, saying why: they are never skipped."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

from tests.cluster.nodes import NamespacedCluster, available

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(item.path).parents:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.cluster)


@pytest.fixture(scope="module")
def cluster():
    from data import default_data_dir

    missing = available()
    if missing:
        pytest.fail(f"the cluster of namespaced nodes {missing}")
    # A short folder: Ray's sockets live under the nodes' temp folders, and a socket path has at most 107 bytes.
    root = Path(tempfile.mkdtemp(prefix="ax-", dir="/tmp"))
    nodes = NamespacedCluster(root, data_dir=default_data_dir().resolve())
    try:
        yield nodes.start()
    finally:
        nodes.stop()
        shutil.rmtree(root, ignore_errors=True)
