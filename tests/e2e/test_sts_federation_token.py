"""GetFederationToken through boto3: the federated user's ARN and id, the session policy that its
permissions are cut by (none: no permissions), session tags, and what its credentials may not call."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.e2e.iam_support import Account, allow, document, error, first_account, uid
from tests.e2e.server import Server
from tests.e2e.test_sts_support import session_client


@pytest.fixture
def acct(server: Server) -> Account:
    return first_account(server)


def _user(acct: Account, *statements: dict[str, Any]) -> tuple[str, Any]:
    name, key = acct.user("fed", allow("sts:GetFederationToken"), *statements)
    return name, acct.client("sts", key)


def test_a_federated_user_is_cut_by_its_session_policy(acct: Account) -> None:
    _user_name, sts = _user(acct, allow(["s3:ListAllMyBuckets", "s3:CreateBucket"]))
    policy = document(allow(["s3:ListAllMyBuckets", "s3:ListBucket"]))  # the user has no ListBucket
    answer = sts.get_federation_token(Name="bob-app", Policy=policy, DurationSeconds=900)
    arn = f"arn:aws:sts::{acct.id}:federated-user/bob-app"
    assert answer["FederatedUser"] == {"FederatedUserId": f"{acct.id}:bob-app", "Arn": arn}
    assert answer["PackedPolicySize"] >= 1
    me = session_client(acct.server, "sts", answer["Credentials"]).get_caller_identity()
    assert (me["Arn"], me["UserId"]) == (arn, f"{acct.id}:bob-app")
    s3 = session_client(acct.server, "s3", answer["Credentials"])
    assert "Buckets" in s3.list_buckets()  # both allow
    bucket = uid("fed")
    acct.client("s3").create_bucket(Bucket=bucket)
    for call in (lambda: s3.create_bucket(Bucket=uid("fed")), lambda: s3.list_objects_v2(Bucket=bucket)):
        with pytest.raises(ClientError) as caught:  # only the user's / only the session's policy allows
            call()
        assert error(caught)[0] == "AccessDenied"


def test_without_a_session_policy_it_has_no_permissions(acct: Account) -> None:
    _user_name, sts = _user(acct, allow("s3:ListAllMyBuckets"))
    bare = sts.get_federation_token(Name="bare")["Credentials"]
    with pytest.raises(ClientError) as caught:
        session_client(acct.server, "s3", bare).list_buckets()
    assert error(caught)[0] == "AccessDenied"
    allowed = sts.get_federation_token(Name="scoped", Policy=document(allow("s3:ListAllMyBuckets")))
    assert "Buckets" in session_client(acct.server, "s3", allowed["Credentials"]).list_buckets()


def test_it_needs_sts_get_federation_token(acct: Account) -> None:
    _name, key = acct.user("nofed")
    with pytest.raises(ClientError) as caught:
        acct.client("sts", key).get_federation_token(Name="x1")
    code, message, status = error(caught)
    assert (code, status) == ("AccessDenied", 403)
    assert f"sts:GetFederationToken on resource: arn:aws:sts::{acct.id}:federated-user/x1" in message


def test_session_tags_need_sts_tag_session(acct: Account) -> None:
    tags = [{"Key": "team", "Value": "web"}]
    _name, sts = _user(acct)
    with pytest.raises(ClientError) as caught:
        sts.get_federation_token(Name="tagged", Tags=tags)
    assert "sts:TagSession" in error(caught)[1]
    policy = document(
        allow("s3:ListAllMyBuckets", Condition={"StringEquals": {"aws:PrincipalTag/team": "web"}})
    )
    _name, tagger = _user(acct, allow("sts:TagSession"), allow("s3:ListAllMyBuckets"))
    answer = tagger.get_federation_token(Name="tagged", Tags=tags, Policy=policy)
    assert answer["FederatedUser"]["Arn"].endswith(":federated-user/tagged")
    assert "Buckets" in session_client(acct.server, "s3", answer["Credentials"]).list_buckets()
    untagged = tagger.get_federation_token(Name="untagged", Policy=policy)["Credentials"]
    with pytest.raises(ClientError) as caught:  # the session policy needs the team tag
        session_client(acct.server, "s3", untagged).list_buckets()
    assert error(caught)[0] == "AccessDenied"


def test_what_its_credentials_may_not_call(acct: Account) -> None:
    _name, sts = _user(acct, allow("*"))
    credentials = sts.get_federation_token(Name="limits", Policy=document(allow("*")))["Credentials"]
    with pytest.raises(ClientError) as caught:
        session_client(acct.server, "iam", credentials).list_users()
    assert error(caught)[0] == "AccessDenied"
    with pytest.raises(ClientError) as caught:
        session_client(acct.server, "sts", credentials).get_federation_token(Name="again")
    assert error(caught)[0] == "AccessDenied"


def test_session_credentials_may_not_call_it(acct: Account) -> None:
    _name, sts = _user(acct, allow("sts:GetSessionToken"))
    session = sts.get_session_token()["Credentials"]
    with pytest.raises(ClientError) as caught:
        session_client(acct.server, "sts", session).get_federation_token(Name="x2")
    assert error(caught)[0] == "AccessDenied"


def test_name_constraints(acct: Account) -> None:
    _name, sts = _user(acct)
    with pytest.raises(ClientError) as caught:
        sts.get_federation_token(Name="has space")
    assert error(caught)[0] == "ValidationError"
    with pytest.raises(ClientError) as caught:
        sts.get_federation_token(Name=uid("x") * 3)
    assert error(caught)[0] == "ValidationError"
