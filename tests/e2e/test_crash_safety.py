"""Crash safety (issue 17): SIGKILL a server (one worker, and two) in the middle of a storm of IAM
writes and S3 PUTs, start it again on the same data dir, and every acknowledged write is there —
users, access keys that still sign, objects with their exact bytes — nothing half-written is
visible (every object listed reads back whole), SQLite's integrity check passes and no upload
temporary is left in ``objects/tmp``."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.server import Server, start_server
from tests.e2e.test_s3_support import s3_client, uid

SIZES = (100, 200 * 1024, 2 * 1024 * 1024)  # inline in the row, one file written whole, streamed
ENOUGH = 24  # acknowledged writes of each kind before the kill (more are in flight then)
THREADS = 4


def body_of(key: str) -> bytes:
    """The one body ever sent under ``key``: whatever is visible under it must be exactly this."""
    size = SIZES[int(hashlib.sha256(key.encode()).hexdigest(), 16) % len(SIZES)]
    seed = hashlib.sha256(key.encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


@dataclass
class Acknowledged:
    """What the server answered 200 to before it died."""

    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # user -> its access key
    objects: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    enough: threading.Event = field(default_factory=threading.Event)

    def check(self) -> None:
        if len(self.users) >= ENOUGH and len(self.objects) >= ENOUGH:
            self.enough.set()


def storm(server: Server, bucket: str, done: Acknowledged, stop: threading.Event, lane: int) -> None:
    """Alternate IAM writes (a user, then its access key) and S3 PUTs until ``stop``; note every
    acknowledged one. Errors (the server dying under us) end the lane."""
    iam = server.client("iam")
    s3 = s3_client(server, next(iter(server.roots.values())), connect_timeout=10, read_timeout=60)
    step = 0
    try:
        while not stop.is_set():
            name, key = f"crash-{lane}-{step}", f"lane{lane}/{step}"
            iam.create_user(UserName=name)
            made = iam.create_access_key(UserName=name)["AccessKey"]
            s3.put_object(Bucket=bucket, Key=key, Body=body_of(key))
            with done.lock:
                done.users[name] = (made["AccessKeyId"], made["SecretAccessKey"])
                done.objects.add(key)
                done.check()
            step += 1
    except Exception:  # the kill: this write was not acknowledged
        return


def family(pid: int) -> list[int]:
    """``pid`` and its descendants (the supervisor and its workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        found.append(current)
        queue.extend(children.get(current, []))
    return found


def kill_all(server: Server) -> None:
    """SIGKILL the server and every worker (the supervisor first, so it restarts none)."""
    for pid in family(server.process.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    server.process.wait(30)


def temporaries(data_dir: Path) -> list[Path]:
    tmp = data_dir / "objects" / "tmp"
    return sorted(tmp.iterdir()) if tmp.is_dir() else []


def integrity(data_dir: Path) -> str:
    with sqlite3.connect(data_dir / "monban.db") as connection:
        return str(connection.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.mark.parametrize("workers", [1, 2])
def test_acknowledged_writes_survive_sigkill(tmp_path: Path, workers: int) -> None:
    data = tmp_path / "data"
    first = start_server(data, "--workers", str(workers))
    bucket = uid("crash")
    s3_client(first, next(iter(first.roots.values()))).create_bucket(Bucket=bucket)
    done, stop = Acknowledged(), threading.Event()
    lanes = [threading.Thread(target=storm, args=(first, bucket, done, stop, n)) for n in range(THREADS)]
    for lane in lanes:
        lane.start()
    try:
        assert done.enough.wait(600), "the storm never got going"
        kill_all(first)  # mid-storm: every lane has a write in flight
    finally:
        stop.set()
        for lane in lanes:
            lane.join(120)
    again = start_server(data, "--workers", str(workers))
    try:
        assert temporaries(data) == []
        assert integrity(data) == "ok"
        check_acknowledged(again, bucket, done)
    finally:
        again.stop()
    assert integrity(data) == "ok"


def check_acknowledged(server: Server, bucket: str, done: Acknowledged) -> None:
    iam = server.client("iam")
    names = {u["UserName"] for page in iam.get_paginator("list_users").paginate() for u in page["Users"]}
    assert set(done.users) <= names
    for name, key in list(done.users.items())[:: max(1, len(done.users) // 8)]:  # their keys still sign
        assert server.client("sts", key=key).get_caller_identity()["Arn"].endswith(f":user/{name}")
    s3 = s3_client(server, next(iter(server.roots.values())))
    listed = {
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        for o in page.get("Contents", [])
    }
    assert done.objects <= listed
    for key in listed:  # acknowledged or not, whatever is visible is whole
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body_of(key), key
