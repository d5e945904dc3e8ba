"""Run a real ``monban serve`` in a subprocess on a free port, and make clients for it."""

from __future__ import annotations

import configparser
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """A running server and what a test needs to talk to it."""

    endpoint: str
    data_dir: Path
    process: subprocess.Popen[bytes]
    log: Path
    roots: dict[str, tuple[str, str]] = field(default_factory=dict)
    database: str | None = None  # its --database URL, if it was given one

    def client(
        self,
        service: str,
        key: tuple[str, str] | None = None,
        token: str | None = None,
        account: str | None = None,
        **config: Any,
    ) -> Any:
        """A boto3 client signed with ``key`` (default: the root key of ``account`` or the first);
        it does not retry unless ``retries`` in ``config`` says otherwise."""
        if key is None:
            key = self.roots[account] if account else next(iter(self.roots.values()))
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=key[0],
            aws_secret_access_key=key[1],
            aws_session_token=token,
            config=Config(**{"retries": {"max_attempts": 1}, **config}),  # no retries unless asked
        )

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def read_roots(data_dir: Path) -> dict[str, tuple[str, str]]:
    parser = configparser.ConfigParser()
    parser.read(data_dir / "credentials")
    return {
        s.removeprefix("monban-"): (parser[s]["aws_access_key_id"], parser[s]["aws_secret_access_key"])
        for s in parser.sections()
    }


def start_server(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> Server:
    """Start ``monban serve`` and wait until /_monban/health answers."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "monban.cli",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
        *args,
    ]
    handle = log.open("wb")
    process = subprocess.Popen(
        cmd, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            with urllib.request.urlopen(endpoint + "/_monban/health", timeout=1) as response:
                if response.status == 200:
                    database = args[args.index("--database") + 1] if "--database" in args else None
                    return Server(endpoint, data_dir, process, log, read_roots(data_dir), database)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"server did not start: {log.read_text()}")


@contextlib.contextmanager
def postgres_database(admin: str) -> Iterator[str]:
    """A fresh PostgreSQL database on the server of ``admin`` (a URL that may create databases),
    dropped afterwards; its SQLAlchemy URL."""
    import psycopg

    plain = admin.replace("postgresql+psycopg://", "postgresql://")
    name = f"monban_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.rsplit("/", 1)[0] + f"/{name}"
    finally:
        drop_database(plain, name)


def drop_database(plain: str, name: str, patience: float = 120) -> None:
    """DROP DATABASE … WITH (FORCE), again while an autovacuum worker (the superuser's, which we
    may not terminate) is at work on it; left, with a warning, if it still is after ``patience``
    seconds (a throttled autovacuum of a large table can take minutes on a loaded machine)."""
    import psycopg

    deadline = time.monotonic() + patience
    while True:
        try:
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except (psycopg.errors.InsufficientPrivilege, psycopg.errors.ObjectInUse) as exc:
            if time.monotonic() > deadline:
                warnings.warn(f"database {name} left behind: {exc}", stacklevel=2)
                return
            time.sleep(1)


def run_cli(
    data_dir: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``monban <args> --data-dir <data_dir>`` in a subprocess (an operator command); its result."""
    command = [sys.executable, "-m", "monban.cli", *args, "--data-dir", str(data_dir)]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, check=False, env={**os.environ, **(env or {})}
    )
