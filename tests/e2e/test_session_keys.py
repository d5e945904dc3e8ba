"""``monban keys rotate`` against a running server (no restart): new sessions are sealed with the new
key once the server has seen the rotation (it bumps the IAM generation: within ``cache_seconds``),
sessions sealed before keep working until they expire, and keys retired long enough are deleted."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from monban.credentials.session import KEYED_PREFIX, TOKEN_PREFIX, token_key_id
from tests.e2e.server import Server, run_cli, start_server

CACHE_SECONDS = 1.0  # Settings.cache_seconds


def _session(running: Server) -> tuple[tuple[str, str], str]:
    creds = running.client("sts").get_session_token()["Credentials"]
    return (creds["AccessKeyId"], creds["SecretAccessKey"]), creds["SessionToken"]


def _works(running: Server, session: tuple[tuple[str, str], str]) -> bool:
    identity = running.client("sts", key=session[0], token=session[1]).get_caller_identity()
    return bool(identity["Arn"])


def test_rotation_reaches_a_running_server_and_keeps_earlier_sessions(tmp_path: Path) -> None:
    data = tmp_path / "data"
    running = start_server(data)
    try:
        first = _session(running)
        assert first[1].startswith(TOKEN_PREFIX)  # key 0: the key derived from the master key

        rotated = run_cli(data, "keys", "rotate")
        assert rotated.returncode == 0, rotated.stderr
        assert "session key 1 seals new sessions" in rotated.stdout
        assert "key 0 retired" in rotated.stdout
        time.sleep(CACHE_SECONDS + 0.5)  # the bound: the next request re-reads the generation
        second = _session(running)
        assert second[1].startswith(KEYED_PREFIX) and token_key_id(second[1])[0] == 1

        again = run_cli(data, "keys", "rotate")
        assert again.returncode == 0, again.stderr
        time.sleep(CACHE_SECONDS + 0.5)
        third = _session(running)
        assert token_key_id(third[1])[0] == 2
        for session in (first, second, third):  # every key still opens what it sealed
            assert _works(running, session)
    finally:
        running.stop()
    restarted = start_server(data)  # and after a restart
    try:
        for session in (first, second, third):
            assert _works(restarted, session)
    finally:
        restarted.stop()


def test_keys_retired_past_the_longest_session_are_deleted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    start_server(data).stop()
    assert run_cli(data, "keys", "rotate").returncode == 0
    with sqlite3.connect(data / "monban.db") as db:  # key 0 was retired 38 hours ago
        db.execute("UPDATE session_keys SET retired_at = datetime('now', '-38 hours') WHERE id = 0")
    done = run_cli(data, "keys", "rotate")
    assert done.returncode == 0, done.stderr
    assert "keys deleted (retired over 37 h ago): 0" in done.stdout
    with sqlite3.connect(data / "monban.db") as db:
        assert [row[0] for row in db.execute("SELECT id FROM session_keys ORDER BY id")] == [1, 2]


def test_rotation_needs_the_master_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    start_server(data).stop()
    (data / "master.key").rename(tmp_path / "elsewhere")
    refused = run_cli(data, "keys", "rotate")
    assert refused.returncode == 1
    assert "no master key" in refused.stderr
