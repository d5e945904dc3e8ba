"""Shared bench machinery: start monban and moto's server, sign requests, drive wrk, report.

Every figure is a ratio against a peer measured in the same run on the same machine, with the same
wrk settings (``CONNECTIONS`` connections, ``THREADS`` threads, a ``WARMUP_SECONDS`` warm-up that is
not counted, then the measured run). Before and after each measured run the replayed request must
succeed and the same request with one signature character changed must be refused, on monban and
on the peer alike: a server that stopped checking signatures (or answers errors fast) would
otherwise look quick. Nothing here is a pass/fail threshold.
"""

from __future__ import annotations

import argparse
import configparser
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REPO = Path(__file__).resolve().parents[1]
REGION = "us-east-1"
FORM = "application/x-www-form-urlencoded; charset=utf-8"
CONNECTIONS = 32
THREADS = 2
WARMUP_SECONDS = 3


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
def monban(config_yaml: str | None, *extra: str) -> Iterator[Running]:
    """A monban server on a fresh data dir, with ``config_yaml`` as its bootstrap file (None: no
    bootstrap file; one account is generated, its root key in ``<data dir>/credentials``)."""
    with tempfile.TemporaryDirectory(prefix="monban-bench-") as tmp:
        cmd = [sys.executable, "-m", "monban.cli", "serve", "--data-dir", tmp, *extra]
        if config_yaml is not None:
            config = Path(tmp) / "bootstrap.yaml"
            config.write_text(config_yaml)
            cmd += ["--config", str(config)]
        port = free_port()
        process = subprocess.Popen(
            [*cmd, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        running = Running(f"http://127.0.0.1:{port}", process, Path(tmp))
        try:
            wait_http(running.endpoint + "/_monban/health")
            yield running
        finally:
            running.stop()


def root_key(server: Running) -> tuple[str, str]:
    """The first account's root key, from the credentials file start-up wrote."""
    assert server.data_dir is not None
    parser = configparser.ConfigParser()
    parser.read(server.data_dir / "credentials")
    section = parser[parser.sections()[0]]
    return section["aws_access_key_id"], section["aws_secret_access_key"]


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


@dataclass(frozen=True)
class Replay:
    """One signed request (SigV4 header auth, valid 15 minutes), as wrk replays it."""

    url: str
    method: str
    body: str
    headers: dict[str, str]


def signed(
    method: str,
    url: str,
    service: str,
    key: tuple[str, str],
    token: str | None = None,
    body: str = "",
    headers: dict[str, str] | None = None,
) -> Replay:
    """Sign a request as botocore does (S3: with ``x-amz-content-sha256`` of the body)."""
    request = AWSRequest(method=method, url=url, data=body.encode(), headers=dict(headers or {}))
    auth = S3SigV4Auth if service == "s3" else SigV4Auth
    auth(Credentials(key[0], key[1], token), service, REGION).add_auth(request)
    return Replay(url, method, body, dict(request.headers.items()))


def signed_query(
    endpoint: str, service: str, body: str, key: tuple[str, str], token: str | None = None
) -> Replay:
    """A SigV4-signed Query POST (IAM, STS)."""
    return signed("POST", endpoint + "/", service, key, token, body, {"Content-Type": FORM})


def status_of(replay: Replay) -> int:
    """The HTTP status the server answers ``replay`` with (sent once, with urllib)."""
    headers = {k: v for k, v in replay.headers.items() if k.lower() not in ("host", "content-length")}
    data = replay.body.encode() if replay.method in ("POST", "PUT") else None
    request = urllib.request.Request(replay.url, data=data, headers=headers, method=replay.method)
    try:
        with urllib.request.urlopen(request, timeout=120) as answer:
            answer.read()
            return int(answer.status)
    except urllib.error.HTTPError as error:
        error.read()
        return int(error.code)


def tampered(replay: Replay) -> Replay:
    """The same request with the last character of its signature changed."""
    headers = dict(replay.headers)
    for name, value in headers.items():
        if name.lower() == "authorization":
            headers[name] = value[:-1] + ("0" if value[-1] != "0" else "1")
    return Replay(replay.url, replay.method, replay.body, headers)


def check_replay(replay: Replay, who: str) -> None:
    """The request succeeds, and a mis-signed copy is refused (4xx): authentication is on."""
    good = status_of(replay)
    if not 200 <= good < 300:
        raise RuntimeError(f"{who} answers the replayed request with HTTP {good}: nothing to measure")
    bad = status_of(tampered(replay))
    if not 400 <= bad < 500:
        raise RuntimeError(f"{who} answers a mis-signed request with HTTP {bad}: is authentication on?")


def measure(replay: Replay, who: str, seconds: int) -> WrkResult:
    """Check, warm up (not counted), measure, and check again that authentication stayed on."""
    check_replay(replay, who)
    wrk(replay.url, replay.method, replay.body, replay.headers, seconds=WARMUP_SECONDS)
    result = wrk(replay.url, replay.method, replay.body, replay.headers, seconds=seconds)
    check_replay(replay, who)
    return result


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    errors: int
    requests: int

    @property
    def ok_per_second(self) -> float:
        """Successful (2xx/3xx) responses per second: errors answered fast are not throughput."""
        if not self.requests:
            return 0.0
        return self.requests_per_second * max(0, self.requests - self.non_2xx) / self.requests


def _field(pattern: str, text: str) -> str:
    """One figure of wrk's report; a report without it is a failed run."""
    match = re.search(pattern, text)
    if match is None:
        raise RuntimeError(f"wrk printed no {pattern!r}:\n{text}")
    return match.group(1)


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
    connections: int = CONNECTIONS,
    threads: int = THREADS,
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
    rps = float(_field(r"Requests/sec:\s+([\d.]+)", out))
    total = int(_field(r"(\d+) requests in", out))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return WrkResult(
        rps,
        _latency(out, "50"),
        _latency(out, "99"),
        int(non2xx.group(1)) if non2xx else 0,
        sum(int(g) for g in errors.groups()) if errors else 0,
        total,
    )


def row(name: str, ours: WrkResult, peer: WrkResult | None) -> str:
    """One table row: monban's figures, the peer's, and the ratio of successful responses/s."""
    ratio = f"{ours.ok_per_second / peer.ok_per_second:.1f}×" if peer and peer.ok_per_second else "n/a"
    theirs = (
        f"{peer.ok_per_second:,.0f} | {peer.p99_ms:.2f} | {peer.non_2xx + peer.errors}"
        if peer
        else "n/a | n/a | n/a"
    )
    return (
        f"| {name} | {ours.ok_per_second:,.0f} | {ours.p50_ms:.2f} | {ours.p99_ms:.2f} | "
        f"{ours.non_2xx + ours.errors} | {theirs} | {ratio} |"
    )


HEADER = (
    "| benchmark | monban ok req/s | p50 ms | p99 ms | errors | moto ok req/s | moto p99 ms | moto errors "
    "| ratio |\n"
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def conditions() -> str:
    """How the figures were taken (wrk settings, CPUs, load when the run started)."""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"wrk -t{THREADS} -c{CONNECTIONS}, {WARMUP_SECONDS} s warm-up then the measured run, on both "
        f"servers; {os.cpu_count()} CPUs shared by wrk and the server; load average at start {load}. "
        "moto: `moto_server` with authentication on (INITIAL_NO_AUTH_ACTION_COUNT=4 set-up calls), "
        "checked before and after each run to refuse a mis-signed request. ok req/s counts 2xx/3xx "
        "answers only (errors: non-2xx answers and socket errors); ratio = monban ok req/s / moto ok req/s."
    )


def wrk_main(
    doc: str | None,
    run: Callable[[argparse.Namespace], list[str]],
    configure: Callable[[argparse.ArgumentParser], None] | None = None,
) -> int:
    """The command line of a wrk benchmark: ``--seconds`` (and what ``configure`` adds), then
    ``run``'s table rows under ``HEADER``, its notes, and the run's conditions."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    parser.add_argument("--seconds", type=int, default=10)
    if configure is not None:
        configure(parser)
    args = parser.parse_args()
    if not have_wrk():
        print("wrk is not installed: `apt-get install -y wrk` (Debian), then run this again.")
        return 1
    lines = run(args)
    print(HEADER)
    print("\n".join(line for line in lines if line.startswith("|")))
    for note in [line for line in lines if not line.startswith("|")] + [conditions()]:
        print(f"\n{note}")
    return 0
