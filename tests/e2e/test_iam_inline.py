"""Inline policies of users, groups and roles through boto3: put, get (URL-encoded on the wire),
list, delete; MalformedPolicyDocument with the engine's message; the per-entity size quotas."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from monban.policy import MalformedPolicyDocument, PolicyKind, parse_policy
from tests.e2e.iam_support import (
    Account,
    allow,
    document,
    error_of,
    first_account,
    uid,
)
from tests.e2e.server import Server


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def _call(iam: Any, verb: str, kind: str, entity: str, **params: Any) -> Any:
    """e.g. _call(iam, "put", "user", "bob", PolicyName=…) → iam.put_user_policy(UserName="bob", …)."""
    method = getattr(iam, f"{verb}_{kind}_polic{'ies' if verb == 'list' else 'y'}")
    return method(**{f"{kind.capitalize()}Name": entity}, **params)


@pytest.mark.parametrize("kind", ["user", "group", "role"])
def test_put_get_list_delete(acct: Account, kind: str) -> None:
    iam = acct.iam()
    entity = acct.entity(kind)
    text = document(allow("s3:GetObject", "arn:aws:s3:::bucket/*"))
    _call(iam, "put", kind, entity, PolicyName="read", PolicyDocument=text)
    _call(iam, "put", kind, entity, PolicyName="also", PolicyDocument=document(allow("s3:ListBucket")))
    got = _call(iam, "get", kind, entity, PolicyName="read")
    assert got[f"{kind.capitalize()}Name"] == entity and got["PolicyName"] == "read"
    assert got["PolicyDocument"] == json.loads(text)
    assert _call(iam, "list", kind, entity)["PolicyNames"] == ["also", "read"]
    paged = _call(iam, "list", kind, entity, MaxItems=1)
    assert paged["PolicyNames"] == ["also"] and paged["IsTruncated"]
    replaced = document(allow("s3:PutObject", "arn:aws:s3:::bucket/*"))
    _call(iam, "put", kind, entity, PolicyName="read", PolicyDocument=replaced)
    assert _call(iam, "get", kind, entity, PolicyName="read")["PolicyDocument"] == json.loads(replaced)
    _call(iam, "delete", kind, entity, PolicyName="read")
    assert _call(iam, "list", kind, entity)["PolicyNames"] == ["also"]
    with pytest.raises(ClientError) as caught:
        _call(iam, "get", kind, entity, PolicyName="read")
    assert error_of(caught) == ("NoSuchEntity", 404, f"The {kind} policy with name read cannot be found.")
    with pytest.raises(ClientError) as caught:
        _call(iam, "delete", kind, entity, PolicyName="read")
    assert error_of(caught)[:2] == ("NoSuchEntity", 404)


def test_document_is_url_encoded_on_the_wire(acct: Account) -> None:
    iam = acct.iam()
    user = acct.entity("user")
    text = '{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}'
    iam.put_user_policy(UserName=user, PolicyName="spaced", PolicyDocument=text)
    raw: list[bytes] = []
    iam.meta.events.register(
        "after-call.iam.GetUserPolicy", lambda http_response, **_: raw.append(http_response.content)
    )
    iam.get_user_policy(UserName=user, PolicyName="spaced")
    assert b"%7B%22Version%22%3A%20%222012-10-17%22" in raw[0]  # as written, RFC 3986-encoded


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        document({"Effect": "Allow", "Action": "s3:GetObject"}),
        document({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Principal": "*"}),
        document({"Effect": "Maybe", "Action": "s3:GetObject", "Resource": "*"}),
    ],
)
def test_malformed_documents(acct: Account, text: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as expected:
        parse_policy(text, PolicyKind.IDENTITY)
    user = acct.entity("user")
    with pytest.raises(ClientError) as caught:
        acct.iam().put_user_policy(UserName=user, PolicyName="bad", PolicyDocument=text)
    assert error_of(caught) == ("MalformedPolicyDocument", 400, expected.value.message)
    assert acct.iam().list_user_policies(UserName=user)["PolicyNames"] == []


def _sized(characters: int) -> str:
    """An identity policy of exactly ``characters`` non-white-space characters, padded with spaces."""
    base = document(allow("s3:GetObject", "arn:aws:s3:::b/"))
    base_size = len(base) - base.count(" ")
    resource = "arn:aws:s3:::b/" + "x" * (characters - base_size)
    text = document(allow("s3:GetObject", resource))
    assert len(text) - text.count(" ") == characters
    return text + " " * 500  # white space is not counted


@pytest.mark.parametrize(("kind", "limit"), [("user", 2048), ("group", 5120), ("role", 10240)])
def test_inline_size_quota(acct: Account, kind: str, limit: int) -> None:
    iam = acct.iam()
    entity = acct.entity(kind)
    half = limit // 2
    _call(iam, "put", kind, entity, PolicyName="one", PolicyDocument=_sized(half))
    _call(iam, "put", kind, entity, PolicyName="two", PolicyDocument=_sized(limit - half))  # exactly full
    with pytest.raises(ClientError) as caught:
        _call(iam, "put", kind, entity, PolicyName="three", PolicyDocument=_sized(200))
    assert error_of(caught) == (
        "LimitExceeded",
        409,
        f"Maximum policy size of {limit} bytes exceeded for {kind} {entity}",
    )
    # replacing a policy counts the new text instead of the old one
    _call(iam, "put", kind, entity, PolicyName="two", PolicyDocument=_sized(limit - half - 200))
    _call(iam, "put", kind, entity, PolicyName="three", PolicyDocument=_sized(200))
    assert _call(iam, "list", kind, entity)["PolicyNames"] == ["one", "three", "two"]


def test_missing_entity_and_bad_names(acct: Account) -> None:
    iam = acct.iam()
    ghost = uid("ghost")
    with pytest.raises(ClientError) as caught:
        iam.put_role_policy(RoleName=ghost, PolicyName="p", PolicyDocument=document(allow("s3:*")))
    assert error_of(caught) == ("NoSuchEntity", 404, f"The role with name {ghost} cannot be found.")
    user = acct.entity("user")
    with pytest.raises(ClientError) as caught:
        iam.put_user_policy(UserName=user, PolicyName="bad name", PolicyDocument=document(allow("s3:*")))
    assert error_of(caught)[:2] == ("ValidationError", 400)


def test_inline_policy_takes_effect_and_deny_wins(acct: Account) -> None:
    iam = acct.iam()
    name, key = acct.user("worker")
    with pytest.raises(ClientError) as caught:
        acct.iam(key).list_users()
    assert error_of(caught)[0] == "AccessDenied"
    iam.put_user_policy(UserName=name, PolicyName="list", PolicyDocument=document(allow("iam:ListUsers")))
    assert acct.iam(key).list_users(MaxItems=1)["Users"]
    iam.put_user_policy(
        UserName=name,
        PolicyName="deny",
        PolicyDocument=document({"Effect": "Deny", "Action": "iam:List*", "Resource": "*"}),
    )
    with pytest.raises(ClientError) as caught:
        acct.iam(key).list_users()
    code, _status, message = error_of(caught)
    assert code == "AccessDenied" and "explicit deny" in message
    iam.delete_user_policy(UserName=name, PolicyName="deny")
    assert acct.iam(key).list_users(MaxItems=1)["Users"]


def test_put_policy_needs_permission_on_the_entity(acct: Account) -> None:
    target = acct.entity("user")
    name, key = acct.user("escalator", allow("iam:PutUserPolicy", acct.arn("user", "${aws:username}")))
    acct.iam(key).put_user_policy(UserName=name, PolicyName="self", PolicyDocument=document(allow("s3:*")))
    with pytest.raises(ClientError) as caught:
        acct.iam(key).put_user_policy(UserName=target, PolicyName="x", PolicyDocument=document(allow("*")))
    assert error_of(caught)[0] == "AccessDenied"
    assert acct.iam().list_user_policies(UserName=target)["PolicyNames"] == []
