"""Shared bench machinery: start monban and moto's server, sign requests, drive wrk, report.

Every figure is a ratio against a peer measured in the same run on the same machine; nothing here
is a pass/fail threshold.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


@dataclass
class Running:
    endpoint: str
    process: subprocess.Popen[bytes]
    data_dir: Path | None = None

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@contextmanager
def monban(config_yaml: str, *extra: str) -> Iterator[Running]:
    """A monban server on a fresh data dir, with ``config_yaml`` as its bootstrap file."""
    with tempfile.TemporaryDirectory(prefix="monban-bench-") as tmp:
        config = Path(tmp) / "bootstrap.yaml"
        config.write_text(config_yaml)
        port = free_port()
        cmd = [
            sys.executable,
            "-m",
            "monban.cli",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            tmp,
            "--config",
            str(config),
            *extra,
        ]
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        running = Running(f"http://127.0.0.1:{port}", process, Path(tmp))
        try:
            wait_http(running.endpoint + "/_monban/health")
            yield running
        finally:
            running.stop()


@contextmanager
def moto() -> Iterator[Running]:
    """moto's server with authentication on (after the first few set-up actions)."""
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "4"}
    exe = shutil.which("moto_server") or str(Path(sys.executable).parent / "moto_server")
    process = subprocess.Popen(
        [exe, "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    running = Running(f"http://127.0.0.1:{port}", process)
    try:
        wait_http(running.endpoint + "/moto-api/")
        yield running
    finally:
        running.stop()


def signed_query(
    endpoint: str, service: str, body: str, key: tuple[str, str], token: str | None = None
) -> tuple[str, dict[str, str]]:
    """A SigV4-signed Query POST (valid 15 minutes), as wrk will replay it."""
    request = AWSRequest(
        method="POST",
        url=endpoint + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    SigV4Auth(Credentials(key[0], key[1], token), service, REGION).add_auth(request)
    return body, dict(request.headers.items())


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int


def _latency(text: str, pct: str) -> float:
    match = re.search(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not match:
        return float("nan")
    value, unit = float(match.group(1)), match.group(2)
    return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value


def wrk(
    url: str,
    method: str,
    body: str,
    headers: dict[str, str],
    *,
    seconds: int = 10,
    connections: int = 32,
    threads: int = 2,
) -> WrkResult:
    """Replay one request with wrk; requests/s, p50/p99 latency, non-2xx and socket errors."""
    script = f"wrk.method = {json.dumps(method)}\nwrk.body = {json.dumps(body)}\nwrk.headers = {{}}\n"
    for name, value in headers.items():
        if name.lower() not in ("content-length", "host"):
            script += f"wrk.headers[{json.dumps(name)}] = {json.dumps(value)}\n"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--latency",
            "-s",
            handle.name,
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    os.unlink(handle.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        rps,
        _latency(out, "50"),
        _latency(out, "99"),
        int(non2xx.group(1)) if non2xx else 0,
        sum(int(g) for g in errors.groups()) if errors else 0,
    )


def row(name: str, ours: WrkResult, peer: WrkResult | None) -> str:
    ratio = f"{ours.requests_per_second / peer.requests_per_second:.1f}×" if peer else "n/a"
    peer_rps = f"{peer.requests_per_second:,.0f}" if peer else "n/a"
    return (
        f"| {name} | {ours.requests_per_second:,.0f} | {ours.p50_ms:.2f} | {ours.p99_ms:.2f} | "
        f"{ours.non_2xx + ours.errors} | {peer_rps} | {ratio} |"
    )


HEADER = (
    "| benchmark | monban req/s | p50 ms | p99 ms | errors | moto req/s | ratio |\n"
    "|---|---:|---:|---:|---:|---:|---:|"
)
