"""Trust-policy principals bound to unique ids (roles.py), without a server: validation against the
store, rebinding on deletion, and how the engine then matches the stored policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from monban.policy import (
    AuthzRequest,
    MalformedPolicyDocument,
    PolicySet,
    Principal,
    RequestContext,
    evaluate,
)
from monban.protocol.errors import AwsError
from monban.services.iam.roles import (
    create_role_record,
    load_trust_policy,
    rebind_trust_policies,
    rewrite_principal,
)
from monban.store.accounts import ensure_account, now
from monban.store.db import Database, sqlite_url
from monban.store.models import Role, User

ACCOUNT = "111122223333"
ALICE = f"arn:aws:iam::{ACCOUNT}:user/alice"
ALICE_ID = "AIDAALICE000000000001"


def trust(*principals: Any) -> str:
    statements = [{"Effect": "Allow", "Principal": p, "Action": "sts:AssumeRole"} for p in principals]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    db = Database(sqlite_url(tmp_path))
    db.migrate()
    with db.transaction() as opened:
        ensure_account(opened, ACCOUNT)
        yield opened
    db.dispose()


def add_user(session: Session, name: str, user_id: str) -> User:
    user = User(id=user_id, account_id=ACCOUNT, name=name, name_lower=name.lower(), path="/",
                arn=f"arn:aws:iam::{ACCOUNT}:user/{name}", created_at=now())  # fmt: skip
    session.add(user)
    session.flush()
    return user


def assume(document: str, principal: Principal) -> str:
    """The engine's decision for sts:AssumeRole under the stored trust policy (same account)."""
    request = AuthzRequest(
        principal=principal,
        action="sts:AssumeRole",
        resource=f"arn:aws:iam::{ACCOUNT}:role/target",
        resource_account=ACCOUNT,
        context=RequestContext(),
        resource_policy=load_trust_policy(document, "trust"),
        is_trust_policy=True,
    )
    return evaluate(request, PolicySet()).decision


def user(arn: str, unique_id: str) -> Principal:
    return Principal("User", ACCOUNT, arn, unique_id)


def test_rewrite_replaces_only_that_principal() -> None:
    document = trust({"AWS": ALICE}, {"AWS": [f"{ALICE}2", ALICE, ACCOUNT]}, {"Service": "ec2.amazonaws.com"})
    rewritten = rewrite_principal(document, ALICE, ALICE_ID)
    assert rewritten is not None
    statements = json.loads(rewritten)["Statement"]
    assert statements[0]["Principal"] == {"AWS": ALICE_ID}
    assert statements[1]["Principal"] == {"AWS": [f"{ALICE}2", ALICE_ID, ACCOUNT]}
    assert statements[2]["Principal"] == {"Service": "ec2.amazonaws.com"}
    assert rewrite_principal(trust({"AWS": f"{ALICE}2"}), ALICE, ALICE_ID) is None
    assert rewrite_principal("{not json", ALICE, ALICE_ID) is None
    single = json.dumps(
        {"Statement": {"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"}}
    )
    assert json.loads(rewrite_principal(single, ALICE, ALICE_ID) or "")["Statement"]["Principal"] == {
        "AWS": ALICE_ID
    }


def test_a_bound_principal_matches_its_unique_id_only() -> None:
    bound = trust({"AWS": [ALICE_ID, f"arn:aws:iam::{ACCOUNT}:user/bob"]})
    assert assume(bound, user(ALICE, ALICE_ID)) == "allowed"  # the entity that had the id
    assert assume(bound, user(ALICE, "AIDAALICE000000000002")) == "implicitDeny"  # re-created alice
    assert assume(bound, user(f"arn:aws:iam::{ACCOUNT}:user/bob", "AIDABOB00000000000001")) == "allowed"
    assert assume(trust({"AWS": ALICE}), user(ALICE, "AIDAALICE000000000002")) == "allowed"
    role_id = "AROAROLE0000000000001"
    session = Principal("AssumedRole", ACCOUNT, f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s", f"{role_id}:s",
                        role_arn=f"arn:aws:iam::{ACCOUNT}:role/r")  # fmt: skip
    assert assume(trust({"AWS": role_id}), session) == "allowed"


def test_load_trust_policy_still_refuses_what_iam_refuses() -> None:
    with pytest.raises(MalformedPolicyDocument):
        load_trust_policy(trust({"AWS": "not-a-principal"}), "trust")
    with pytest.raises(MalformedPolicyDocument):
        load_trust_policy("{broken", "trust")


def test_create_role_record_validates_principals(session: Session) -> None:
    with pytest.raises(AwsError) as caught:
        create_role_record(session, ACCOUNT, "r1", None, trust({"AWS": ALICE}))
    assert (caught.value.code, caught.value.message) == (
        "MalformedPolicyDocument",
        f'Invalid principal in policy: "AWS":"{ALICE}"',
    )
    add_user(session, "alice", ALICE_ID)
    role = create_role_record(
        session, ACCOUNT, "r1", "/ops/", trust({"AWS": ALICE}), "d", 7200, None, {"k": "v"}
    )
    assert (role.arn, role.max_session_duration, role.description) == (
        f"arn:aws:iam::{ACCOUNT}:role/ops/r1",
        7200,
        "d",
    )
    with pytest.raises(AwsError) as caught:
        create_role_record(session, ACCOUNT, "R1", None, trust({"AWS": ACCOUNT}))
    assert caught.value.code == "EntityAlreadyExists"
    with pytest.raises(AwsError) as caught:
        create_role_record(
            session, ACCOUNT, "r2", None, trust({"AWS": ACCOUNT}), boundary=f"arn:aws:iam::{ACCOUNT}:policy/x"
        )
    assert caught.value.code == "NoSuchEntity"
    bounded = create_role_record(
        session, ACCOUNT, "r3", None, trust("*"), boundary="arn:aws:iam::aws:policy/ReadOnlyAccess"
    )
    assert bounded.permissions_boundary == "arn:aws:iam::aws:policy/ReadOnlyAccess"


def test_rebind_rewrites_every_role_naming_the_arn(session: Session) -> None:
    add_user(session, "alice", ALICE_ID)
    add_user(session, "alice2", "AIDAALICE200000000001")
    named = create_role_record(session, ACCOUNT, "named", None, trust({"AWS": ALICE}))
    similar = create_role_record(session, ACCOUNT, "similar", None, trust({"AWS": f"{ALICE}2"}))
    untouched = similar.trust_policy
    rebind_trust_policies(session, ALICE, ALICE_ID)
    assert json.loads(named.trust_policy)["Statement"][0]["Principal"] == {"AWS": ALICE_ID}
    assert session.get(Role, similar.id) is similar and similar.trust_policy == untouched
