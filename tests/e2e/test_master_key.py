"""The master key against real servers and the CLI (issue 11): a missing, malformed or different key
over sealed data stops the start with one sentence and writes nothing; ``monban rotate-master-key``
re-seals every secret under a new key, refuses while a server runs, and a rotation cut short is
finished or dropped at the next start."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import uid
from tests.e2e.server import Server, free_port, run_cli, start_server


def serve_and_exit(data_dir: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``monban serve`` on a data dir it must refuse: it exits by itself."""
    command = [
        sys.executable,
        "-m",
        "monban.cli",
        "serve",
        "--port",
        str(free_port()),
        "--data-dir",
        str(data_dir),
    ]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, env={**os.environ, **(env or {})}
    )


def a_key() -> bytes:
    return base64.b64encode(secrets.token_bytes(32)) + b"\n"


def with_a_user(running: Server) -> tuple[str, str]:
    """A new IAM user's access key (its secret is sealed under the master key)."""
    iam = running.client("iam")
    name = uid("keyed")
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


@pytest.fixture
def sealed(tmp_path: Path) -> Path:
    """A stopped server's data dir, with a user's sealed secret beside the root's."""
    data = tmp_path / "data"
    running = start_server(data)
    try:
        with_a_user(running)
    finally:
        running.stop()
    return data


def refused(done: subprocess.CompletedProcess[str], *phrases: str) -> None:
    """Exit 2, one line on stderr starting ``monban:`` and holding the phrases, no traceback."""
    assert done.returncode == 2, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("monban: "), done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    for phrase in phrases:
        assert phrase in lines[0]


def test_a_missing_key_over_sealed_data_stops_the_start(sealed: Path) -> None:
    (sealed / "master.key").unlink()
    refused(
        serve_and_exit(sealed),
        f"{sealed / 'master.key'} is missing",
        str(sealed / "monban.db"),
        "restore the right master.key from your backup",
    )
    assert not (sealed / "master.key").exists()  # no new key over the data


def test_a_different_key_stops_the_start(sealed: Path) -> None:
    other = a_key()
    (sealed / "master.key").write_bytes(other)
    refused(serve_and_exit(sealed), f"{sealed / 'master.key'} is not the master key that sealed the secrets")
    assert (sealed / "master.key").read_bytes() == other


def test_a_different_key_in_the_environment_stops_the_start(sealed: Path) -> None:
    env = {"MONBAN_MASTER_KEY": a_key().decode().strip()}
    refused(serve_and_exit(sealed, env), "MONBAN_MASTER_KEY is not the master key that sealed the secrets")


@pytest.mark.parametrize("content", [b"", b"not base64 at all!\n", base64.b64encode(b"short") + b"\n"])
def test_a_malformed_key_stops_the_start(sealed: Path, content: bytes) -> None:
    (sealed / "master.key").write_bytes(content)
    refused(serve_and_exit(sealed), f"{sealed / 'master.key'} does not hold a master key")


def _answers(running: Server, key: tuple[str, str], token: str | None = None) -> str:
    """The error code of GetCallerIdentity with ``key``, or "ok"."""
    try:
        running.client("sts", key=key, token=token).get_caller_identity()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    return "ok"


def test_rotation_reseals_every_secret(tmp_path: Path) -> None:
    data = tmp_path / "data"
    running = start_server(data)
    try:
        user_key = with_a_user(running)
        session: dict[str, Any] = running.client("sts", key=user_key).get_session_token()["Credentials"]
        root_key = next(iter(running.roots.values()))
        refused_while_running = run_cli(data, "rotate-master-key")
    finally:
        running.stop()
    assert refused_while_running.returncode == 1
    assert f"a monban server is running on {data}" in refused_while_running.stderr
    old = (data / "master.key").read_bytes()

    done = run_cli(data, "rotate-master-key")
    assert done.returncode == 0, done.stderr
    assert "2 secret access keys re-sealed" in done.stdout
    new = (data / "master.key").read_bytes()
    assert new != old and len(base64.b64decode(new)) == 32
    assert not (data / "master.key.next").exists()

    again = start_server(data)
    try:
        assert _answers(again, user_key) == "ok"
        assert _answers(again, root_key) == "ok"
        session_key = (session["AccessKeyId"], session["SecretAccessKey"])
        assert _answers(again, session_key, session["SessionToken"]) == "ok"  # its key was re-sealed
    finally:
        again.stop()
    (data / "master.key").write_bytes(old)  # the old key opens nothing any more
    refused(serve_and_exit(data), "is not the master key that sealed the secrets")


def test_rotation_refuses_a_key_from_the_environment(sealed: Path) -> None:
    done = run_cli(sealed, "rotate-master-key", env={"MONBAN_MASTER_KEY": a_key().decode().strip()})
    assert done.returncode == 1 and "MONBAN_MASTER_KEY is set" in done.stderr


def test_a_rotation_cut_short_after_its_commit_is_finished_at_start(sealed: Path) -> None:
    """The state a crash between the commit and the rename leaves: the database sealed under
    ``master.key.next``, ``master.key`` still the old key."""
    old = (sealed / "master.key").read_bytes()
    assert run_cli(sealed, "rotate-master-key").returncode == 0
    new = (sealed / "master.key").read_bytes()
    (sealed / "master.key.next").write_bytes(new)
    (sealed / "master.key").write_bytes(old)
    running = start_server(sealed)
    try:
        assert _answers(running, next(iter(running.roots.values()))) == "ok"
    finally:
        running.stop()
    assert (sealed / "master.key").read_bytes() == new
    assert not (sealed / "master.key.next").exists()


def test_a_rotation_cut_short_before_its_commit_is_dropped_at_start(sealed: Path) -> None:
    """The state a crash before the commit leaves: a ``master.key.next`` that seals nothing."""
    old = (sealed / "master.key").read_bytes()
    (sealed / "master.key.next").write_bytes(a_key())
    running = start_server(sealed)
    try:
        assert _answers(running, next(iter(running.roots.values()))) == "ok"
    finally:
        running.stop()
    assert (sealed / "master.key").read_bytes() == old
    assert not (sealed / "master.key.next").exists()
