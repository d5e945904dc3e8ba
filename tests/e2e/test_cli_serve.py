"""`monban serve` on the command line: it says where it listens only once the port is bound, and a
busy port is one clear line and a non-zero exit, before anything is written to the data dir."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from pathlib import Path

MONBAN = [sys.executable, "-m", "monban.cli", "serve"]


def test_a_busy_port_is_one_line_and_exit_status_1(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [*MONBAN, "--port", str(port), "--data-dir", str(tmp_path / "data")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr == f"monban: cannot listen on 127.0.0.1:{port}: address already in use\n"
    assert not (tmp_path / "data").exists()


def test_listening_is_printed_once_the_port_accepts(tmp_path: Path) -> None:
    """The first line names the port bound (--port 0: any); a client connecting the moment it is
    printed is accepted, and the server answers it."""
    process = subprocess.Popen(
        [*MONBAN, "--port", "0", "--data-dir", str(tmp_path / "data")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("monban listening on http://127.0.0.1:"), first
        port = int(first.split("http://127.0.0.1:", 1)[1].split()[0])
        assert port != 0
        with socket.create_connection(("127.0.0.1", port), timeout=60) as client:
            client.sendall(b"GET /_monban/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
            assert client.recv(64).startswith(b"HTTP/1.1 200 ")
        rest = [process.stdout.readline() for _ in range(3)]
        assert f"--region us-east-1 --endpoint-url http://127.0.0.1:{port} iam list-roles" in rest[-1]
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 0


def test_object_store_options_are_checked_before_anything_is_written(tmp_path: Path) -> None:
    """``--object-store`` is files, database (on PostgreSQL only) or an s3:// URL."""
    for option, error in (
        ("database", "monban: --object-store database needs --database postgresql…\n"),
        ("s3://", "s3://: the URL names no bucket"),
        ("minio://b", "minio://b: an object store URL is s3://BUCKET[/PREFIX]"),
    ):
        done = subprocess.run(
            [*MONBAN, "--port", "0", "--data-dir", str(tmp_path / "data"), "--object-store", option],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2 and error in done.stderr, done.stderr
        assert not (tmp_path / "data").exists()
