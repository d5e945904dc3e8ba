"""Properties (issue 11, findings 3, 4 and 7's classes), with hypothesis driving boto3 against the
session's real server:

- whatever sequence of renames, path moves, deletion and namesakes follows, a trust policy and a
  bucket policy naming a user grant exactly that user (by unique id) while it lives, and no one
  after; they show its current ARN, or its bare unique id once it is gone;
- a bucket policy never names a principal that does not exist (MalformedPolicy).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.iam_support import Account, allow, document, error, first_account, trust
from tests.e2e.server import Server
from tests.e2e.test_iam_principal_binding import assume, delete_user, get_object_for, read, shown_principal
from tests.e2e.test_s3_support import s3_client

PROPERTY = settings(
    max_examples=8, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
STEPS = st.lists(st.sampled_from(["rename", "move", "namesake", "delete"]), min_size=1, max_size=4)


@dataclass
class Subject:
    """The user the policies name, as it changes, and the namesakes made along the way."""

    account: Account
    original: str
    user_id: str
    key: tuple[str, str]
    name: str
    path: str = "/"
    alive: bool = True
    namesakes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def arn(self) -> str:
        return self.account.arn("user", self.name, self.path)


def make_user(account: Account, name: str) -> tuple[str, tuple[str, str]]:
    iam = account.iam()
    user_id = iam.create_user(UserName=name)["User"]["UserId"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document(allow("sts:AssumeRole")))
    made = iam.create_access_key(UserName=name)["AccessKey"]
    return user_id, (made["AccessKeyId"], made["SecretAccessKey"])


def step(subject: Subject, action: str) -> None:
    iam = subject.account.iam()
    if action == "namesake":
        free = not subject.alive or subject.name.lower() != subject.original.lower()
        if free and not subject.namesakes:  # the original name is free: a newcomer takes it
            _, key = make_user(subject.account, subject.original)
            subject.namesakes.append(key)
        return
    if not subject.alive:
        return
    if action == "delete":
        delete_user(subject.account, subject.name)
        subject.alive = False
    elif action == "rename":
        new_name = f"Renamed-{uuid.uuid4().hex[:8]}"
        iam.update_user(UserName=subject.name, NewUserName=new_name)
        subject.name = new_name
    else:
        subject.path = f"/p{uuid.uuid4().hex[:6]}/"
        iam.update_user(UserName=subject.name, NewPath=subject.path)


def check(subject: Subject, role_name: str, role_arn: str, bucket: str) -> None:
    server = subject.account.server
    expected = subject.arn if subject.alive else subject.user_id
    assert shown_principal(subject.account, bucket) == {"AWS": expected}
    shown = subject.account.iam().get_role(RoleName=role_name)["Role"]["AssumeRolePolicyDocument"]
    assert shown["Statement"][0]["Principal"] == {"AWS": expected}
    if subject.alive:
        assert read(server, subject.key, bucket) == "ok"
        assert assume(subject.account, subject.key, role_arn)
    for key in subject.namesakes:
        assert read(server, key, bucket) == "AccessDenied"
        with pytest.raises(ClientError) as caught:
            assume(subject.account, key, role_arn)
        assert error(caught)[0] == "AccessDenied"


@PROPERTY
@given(steps=STEPS)
def test_policies_follow_their_principal_and_never_a_namesake(server: Server, steps: list[str]) -> None:
    account = first_account(server)
    original = f"Subject-{uuid.uuid4().hex[:8]}"
    user_id, key = make_user(account, original)
    subject = Subject(account, original, user_id, key, original)
    role_name = f"bound-{uuid.uuid4().hex[:8]}"
    role_arn = account.iam().create_role(
        RoleName=role_name, AssumeRolePolicyDocument=trust({"AWS": subject.arn})
    )["Role"]["Arn"]
    bucket = f"prop-{uuid.uuid4().hex[:12]}"
    s3 = s3_client(server, account.root)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="k", Body=b"data")
    s3.put_bucket_policy(
        Bucket=bucket, Policy=document(get_object_for(subject.arn)).replace("BUCKET", bucket)
    )
    check(subject, role_name, role_arn, bucket)
    for action in steps:
        step(subject, action)
        check(subject, role_name, role_arn, bucket)


def _missing_principal(server: Server, account: Account) -> st.SearchStrategy[str]:
    known = set(server.roots)
    other = st.from_regex(r"[0-9]{12}", fullmatch=True).filter(lambda a: a not in known)
    name = st.from_regex(r"[A-Za-z0-9+=,.@_-]{1,40}", fullmatch=True).map(lambda n: f"absent{n}")
    return st.one_of(
        other,
        other.map(lambda a: f"arn:aws:iam::{a}:root"),
        other.map(lambda a: f"arn:aws:sts::{a}:assumed-role/r/s"),
        name.map(lambda n: account.arn("user", n)),
        name.map(lambda n: account.arn("role", n)),
        st.tuples(other, name).map(lambda p: f"arn:aws:iam::{p[0]}:user/{p[1]}"),
    )


@PROPERTY
@given(data=st.data())
def test_bucket_policies_never_name_a_principal_that_does_not_exist(
    server: Server, data: st.DataObject
) -> None:
    account = first_account(server)
    principal = data.draw(_missing_principal(server, account))
    bucket = f"prop-{uuid.uuid4().hex[:12]}"
    s3 = s3_client(server, account.root)
    s3.create_bucket(Bucket=bucket)
    text = document(get_object_for(principal)).replace("BUCKET", bucket)
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_policy(Bucket=bucket, Policy=text)
    assert error(caught) == ("MalformedPolicy", "Invalid principal in policy", 400)
