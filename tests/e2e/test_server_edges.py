"""What a real server shows and tolerates at its edges (issue 11): the unauthenticated health answer
names no account; a connection that never finishes its headers is closed; an IPv4 client seen
through a dual-stack listener (``::ffff:127.0.0.1``) is the IPv4 address its policies name."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import allow, deny, document, error_of, user_client
from tests.e2e.server import Server, start_server


def test_health_answers_readiness_only(server: Server) -> None:
    with urllib.request.urlopen(server.endpoint + "/_monban/health", timeout=10) as response:
        body = response.read()
    assert json.loads(body) == {"status": "ok"}
    for account in server.roots:
        assert account.encode() not in body


@pytest.fixture(scope="module")
def impatient(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server that gives a connection one second for its headers."""
    running = start_server(tmp_path_factory.mktemp("impatient"), "--header-timeout", "1")
    yield running
    running.stop()


def _connect(server: Server) -> socket.socket:
    port = urllib.parse.urlsplit(server.endpoint).port
    assert port is not None
    return socket.create_connection(("127.0.0.1", port), timeout=60)


def _closed_by_server(sock: socket.socket, trickle: bytes = b"") -> bool:
    """Send ``trickle`` a byte every 0.2 s (nothing if empty) until the server closes the
    connection; False if it is still open after 60 s."""
    sock.settimeout(0.2)
    for step in range(300):
        try:
            return sock.recv(1024) == b""  # anything else is an answer: it took them as a request
        except TimeoutError:
            pass
        except ConnectionResetError:
            return True
        if trickle:
            try:
                sock.send(trickle[step % len(trickle) : step % len(trickle) + 1])
            except (BrokenPipeError, ConnectionResetError):
                return True
    return False


def test_a_connection_that_sends_nothing_is_closed(impatient: Server) -> None:
    with _connect(impatient) as sock:
        assert _closed_by_server(sock)


def test_a_header_that_never_ends_is_closed(impatient: Server) -> None:
    with _connect(impatient) as sock:
        sock.sendall(b"GET /_monban/health HTTP/1.1\r\nHost: localhost\r\n")
        assert _closed_by_server(sock)


def test_a_header_trickled_a_byte_at_a_time_is_closed(impatient: Server) -> None:
    """Each byte comes well within the limit; the headers as a whole never do."""
    with _connect(impatient) as sock:
        sock.sendall(b"GET /_monban/health HTTP/1.1\r\nHost: localhost\r\n")
        assert _closed_by_server(sock, trickle=b"X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n")


def test_the_deadline_is_for_headers_only(impatient: Server) -> None:
    """A body that comes later than the header deadline is still read and answered (the Query
    front reads the whole body before it answers), the same connection then serves the next
    request, and the deadline holds again for the one after."""
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    head = f"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(body)}\r\n"
    form = "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    with _connect(impatient) as sock:
        sock.sendall((head + form).encode())
        time.sleep(2)  # twice the header deadline: the connection must still be open
        sock.sendall(body)
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 403 ") and b"MissingAuthenticationToken" in answer
        sock.sendall(b"GET /_monban/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /_monban/health HTTP/1.1\r\n")  # and the next headers are due again
        assert _closed_by_server(sock)


def test_header_timeout_is_an_option() -> None:
    shown = subprocess.run(
        [sys.executable, "-m", "monban.cli", "serve", "--help"], capture_output=True, text=True, check=True
    )
    text = " ".join(shown.stdout.split())
    assert (
        "--header-timeout SECONDS close a connection whose request headers" in text
        and "(default: 20)" in text
    )
    refused = subprocess.run(
        [sys.executable, "-m", "monban.cli", "serve", "--header-timeout", "0"], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "above 0" in refused.stderr


@pytest.fixture(scope="module")
def dual_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server listening on ``::`` with two workers: uvicorn binds one dual-stack socket for them,
    so an IPv4 client's peer address is ``::ffff:127.0.0.1``."""
    data: Path = tmp_path_factory.mktemp("dual")
    running = start_server(data, "--host", "::", "--workers", "2")
    yield running
    running.stop()


@pytest.mark.parametrize("network", ["127.0.0.1/32", "127.0.0.0/8", "::ffff:127.0.0.0/104"])
def test_an_ipv4_client_of_a_dual_stack_listener_matches_ipv4_blocks(
    dual_stack: Server, network: str
) -> None:
    only_from = document(allow("iam:GetUser", Condition={"IpAddress": {"aws:SourceIp": network}}))
    arn, iam = user_client(dual_stack, only_from)
    assert iam.get_user(UserName=arn.rsplit("/", 1)[-1])["User"]["Arn"] == arn


def test_an_ipv4_client_of_a_dual_stack_listener_is_denied_by_ipv4_blocks(dual_stack: Server) -> None:
    """NotIpAddress fails closed the same way: a Deny for everyone outside 10.0.0.0/8 holds for
    ``::ffff:127.0.0.1``, which is 127.0.0.1."""
    outside = deny("iam:GetUser", Condition={"NotIpAddress": {"aws:SourceIp": "10.0.0.0/8"}})
    arn, iam = user_client(dual_stack, document(allow("iam:GetUser"), outside))
    with pytest.raises(ClientError) as caught:
        iam.get_user(UserName=arn.rsplit("/", 1)[-1])
    assert error_of(caught)[:2] == ("AccessDenied", 403)


@pytest.mark.parametrize(
    ("source", "network", "decision"),
    [
        ("::ffff:203.0.113.5", "203.0.113.0/24", "allowed"),
        ("::ffff:198.51.100.5", "203.0.113.0/24", "implicitDeny"),
        ("203.0.113.5", "::ffff:203.0.113.0/120", "allowed"),
        ("198.51.100.5", "::ffff:203.0.113.0/120", "implicitDeny"),
    ],
)
def test_simulation_reads_mapped_addresses_as_ipv4(
    server: Server, source: str, network: str, decision: str
) -> None:
    policy = document(allow("s3:GetObject", Condition={"IpAddress": {"aws:SourceIp": network}}))
    entry = {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": [source], "ContextKeyType": "ip"}
    result = server.client("iam").simulate_custom_policy(
        PolicyInputList=[policy], ActionNames=["s3:GetObject"], ContextEntries=[entry]
    )
    assert result["EvaluationResults"][0]["EvalDecision"] == decision
