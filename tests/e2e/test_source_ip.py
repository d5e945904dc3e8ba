"""aws:SourceIp is the address of the TCP peer: a client cannot claim another one with
X-Forwarded-For (AWS ignores the header for the condition key; so does monban, which trusts no
proxy headers)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import allow, document, error_of, user_client
from tests.e2e.server import Server


def _forwarded_for(client: Any, address: str) -> Any:
    def add_header(request: Any, **_: Any) -> None:
        request.headers["X-Forwarded-For"] = address
        request.headers["X-Real-IP"] = address

    client.meta.events.register_first("before-sign.iam.*", add_header)
    return client


def _only_from(network: str) -> str:
    return document(allow("iam:GetUser", Condition={"IpAddress": {"aws:SourceIp": network}}))


def test_forwarded_for_does_not_change_the_source_ip(server: Server) -> None:
    arn, iam = user_client(server, _only_from("10.0.0.0/8"))
    name = arn.rsplit("/", 1)[-1]
    with pytest.raises(ClientError) as caught:
        _forwarded_for(iam, "10.1.2.3").get_user(UserName=name)
    assert error_of(caught)[:2] == ("AccessDenied", 403)


def test_the_peer_address_is_the_source_ip(server: Server) -> None:
    arn, iam = user_client(server, _only_from("127.0.0.1/32"))
    name = arn.rsplit("/", 1)[-1]
    assert _forwarded_for(iam, "10.1.2.3").get_user(UserName=name)["User"]["Arn"] == arn
