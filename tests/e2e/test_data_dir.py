"""The data dir is its owner's alone (issue 11): the folder 0700 and every file monban writes in it
0600 — the database and its WAL, object files and their temporaries, the master key, the root
credentials, files made after start and by operator commands — whatever the umask."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from tests.e2e.server import Server, run_cli, start_server
from tests.e2e.test_s3_support import s3_client, uid

HARNESS_FILES = {"server.log"}  # written by the test harness (start_server), not by monban


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    """This process's umask, and so that of the processes it starts, within the block."""
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def modes(data_dir: Path) -> dict[str, int]:
    """The permission bits of the data dir and of everything monban made in it, by relative path."""
    found = {".": stat.S_IMODE(data_dir.stat().st_mode)}
    for folder, dirs, files in os.walk(data_dir):
        for name in dirs + files:
            path = Path(folder, name)
            relative = str(path.relative_to(data_dir))
            if relative not in HARNESS_FILES:
                found[relative] = stat.S_IMODE(path.lstat().st_mode)
    return found


def wide(found: dict[str, int], data_dir: Path) -> dict[str, str]:
    """What is not owner-only: folders other than 0700, files other than 0600."""
    bad = {}
    for relative, mode in found.items():
        wanted = 0o700 if (data_dir / relative).is_dir() else 0o600
        if mode != wanted:
            bad[relative] = oct(mode)
    return bad


def work(running: Server) -> None:
    """Writes of every kind: IAM rows (the WAL), an object streamed through a temporary file, an
    object written whole, a multipart part, an upload left open."""
    iam = running.client("iam")
    user = uid("modes")
    iam.create_user(UserName=user)
    iam.create_access_key(UserName=user)
    s3 = s3_client(running, next(iter(running.roots.values())))
    bucket = uid("modes")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="big", Body=os.urandom(3 * 1024 * 1024))
    s3.put_object(Bucket=bucket, Key="whole", Body=os.urandom(200 * 1024))
    upload = s3.create_multipart_upload(Bucket=bucket, Key="parts")["UploadId"]
    s3.upload_part(Bucket=bucket, Key="parts", UploadId=upload, PartNumber=1, Body=os.urandom(300 * 1024))


def test_everything_is_owner_only_under_umask_000(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with umask(0):
        running = start_server(data)
    try:
        work(running)
        found = modes(data)
        assert {"monban.db", "monban.db-wal", "monban.db-shm", "master.key", "credentials"} <= found.keys()
        assert any(name.startswith("objects/") and len(name) == len("objects/ab/") + 32 for name in found)
        assert wide(found, data) == {}
        with umask(0):  # an operator command, run while the server runs
            done = run_cli(data, "revoke-session", "ASIAAAAAAAAAAAAAAAAA")
        assert done.returncode == 0, done.stderr
        assert wide(modes(data), data) == {}
    finally:
        running.stop()
    assert wide(modes(data), data) == {}


def test_a_data_dir_left_readable_is_narrowed_at_start(tmp_path: Path) -> None:
    """A data dir made before this rule (0755, files 0644) is owner-only again after a start."""
    data = tmp_path / "data"
    first = start_server(data)
    try:
        work(first)
    finally:
        first.stop()
    for path in [data, *data.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    assert wide(modes(data), data)
    again = start_server(data)
    try:
        assert wide(modes(data), data) == {}
        assert again.client("sts").get_caller_identity()["Account"] in again.roots
    finally:
        again.stop()
