"""A multi-MiB object put on one node is read on the others: its bytes are PostgreSQL chunks,
which every node reaches."""

from __future__ import annotations

import os

import pytest

from tests.e2e.test_s3_support import s3_client
from tests.nodes.conftest import Cluster

pytestmark = pytest.mark.postgres


def test_a_multi_mib_object_crosses_nodes(cluster: Cluster) -> None:
    nodes = cluster.nodes
    root = next(iter(nodes[0].roots.values()))
    s3_client(nodes[0], root).create_bucket(Bucket="big")
    body = os.urandom(3 * 1024 * 1024 + 17)
    s3_client(nodes[0], root).put_object(Bucket="big", Key="k", Body=body)
    for node in nodes[1:]:
        assert s3_client(node, root).get_object(Bucket="big", Key="k")["Body"].read() == body
