"""Trust-policy principals bound to unique ids (roles.py, store/principals.py), without a server:
validation against the store, binding, rendering, and how the engine then matches the stored policy."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
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
from monban.services.iam.roles import create_role_record, load_trust_policy
from monban.store import principals
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


def test_bind_replaces_only_entity_arns(session: Session) -> None:
    add_user(session, "alice", ALICE_ID)
    add_user(session, "alice2", "AIDAALICE200000000001")
    document = trust({"AWS": ALICE}, {"AWS": [f"{ALICE}2", ALICE, ACCOUNT]}, {"Service": "ec2.amazonaws.com"})
    statements = json.loads(principals.bind(session, document))["Statement"]
    assert statements[0]["Principal"] == {"AWS": ALICE_ID}
    assert statements[1]["Principal"] == {"AWS": ["AIDAALICE200000000001", ALICE_ID, ACCOUNT]}
    assert statements[2]["Principal"] == {"Service": "ec2.amazonaws.com"}
    unbound = trust({"AWS": ACCOUNT}, "*")
    assert principals.bind(session, unbound) is unbound  # nothing bound: kept as sent
    assert principals.bind(session, "{not json") == "{not json"
    single = json.dumps(
        {"Statement": {"Effect": "Deny", "NotPrincipal": {"AWS": ALICE}, "Action": "sts:AssumeRole"}}
    )
    assert json.loads(principals.bind(session, single))["Statement"]["NotPrincipal"] == {"AWS": ALICE_ID}


def test_bind_refuses_unknown_principals(session: Session) -> None:
    add_user(session, "alice", ALICE_ID)
    for value in (
        f"arn:aws:iam::{ACCOUNT}:user/ALICE",
        f"arn:aws:iam::{ACCOUNT}:group/alice",
        f"{ALICE}x",
        "arn:aws:iam::999999999999:role/r",
    ):
        with pytest.raises(principals.InvalidPrincipal) as caught:
            principals.bind(session, trust({"AWS": value}))
        assert caught.value.value == value
    other = trust({"AWS": "999999999999"})
    assert principals.bind(session, other) == other
    with pytest.raises(principals.InvalidPrincipal):
        principals.bind(session, other, known_accounts=True)
    with pytest.raises(principals.InvalidPrincipal):
        principals.bind(
            session, trust({"AWS": "arn:aws:sts::999999999999:assumed-role/r/s"}), known_accounts=True
        )
    known = trust({"AWS": [f"arn:aws:iam::{ACCOUNT}:root", "*"]})
    assert principals.bind(session, known, known_accounts=True) == known


def test_a_bound_principal_matches_its_unique_id_only() -> None:
    bound = trust({"AWS": [ALICE_ID, "AIDABOB00000000000001", ACCOUNT]})
    assert assume(bound, user(ALICE, ALICE_ID)) == "allowed"  # the entity that had the id
    assert assume(trust({"AWS": ALICE_ID}), user(ALICE, "AIDAALICE000000000002")) == "implicitDeny"
    assert assume(bound, user(f"arn:aws:iam::{ACCOUNT}:user/bob", "AIDABOB00000000000001")) == "allowed"
    # an ARN left in a stored document (stored before binding; its entity was gone) grants no one
    assert assume(trust({"AWS": ALICE}), user(ALICE, ALICE_ID)) == "implicitDeny"
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


def test_render_shows_the_current_arn_or_the_bare_id(session: Session) -> None:
    alice = add_user(session, "alice", ALICE_ID)
    named = create_role_record(session, ACCOUNT, "named", None, trust({"AWS": ALICE}))
    assert json.loads(named.trust_policy)["Statement"][0]["Principal"] == {"AWS": ALICE_ID}
    shown = json.loads(principals.render(session, named.trust_policy))
    assert shown["Statement"][0]["Principal"] == {"AWS": ALICE}
    alice.arn = f"arn:aws:iam::{ACCOUNT}:user/team/alice-old"
    session.flush()
    shown = json.loads(principals.render(session, named.trust_policy))
    assert shown["Statement"][0]["Principal"] == {"AWS": alice.arn}
    session.delete(alice)
    session.flush()
    shown = json.loads(principals.render(session, named.trust_policy))
    assert shown["Statement"][0]["Principal"] == {"AWS": ALICE_ID}
    assert session.get(Role, named.id) is named


def test_upgrade_binds_documents_stored_before(tmp_path: Path) -> None:
    """Migration 0003: stored trust and bucket policies get their users' and roles' unique ids
    (what names no one stays); the downgrade shows the ARNs again."""
    from alembic import command
    from alembic.config import Config

    from monban.store.db import MIGRATIONS
    from monban.store.s3_models import Bucket

    db = Database(sqlite_url(tmp_path))
    db.migrate()
    old = trust({"AWS": [ALICE, f"arn:aws:iam::{ACCOUNT}:user/ghost", ACCOUNT]})
    with db.transaction() as session:
        ensure_account(session, ACCOUNT)
        add_user(session, "alice", ALICE_ID)
        session.add(Role(id="AROATRUSTING000000001", account_id=ACCOUNT, name="r", name_lower="r", path="/",
                         arn=f"arn:aws:iam::{ACCOUNT}:role/r", created_at=now(), trust_policy=old,
                         max_session_duration=3600))  # fmt: skip
        session.add(Bucket(name="b", account_id=ACCOUNT, region="us-east-1", created_at=now(), policy=old))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    for target, expected in (("0002_s3_object_data", ALICE), ("heads", ALICE_ID)):
        with db.engine.begin() as connection:
            config.attributes["connection"] = connection
            (command.downgrade if target.startswith("0002") else command.upgrade)(config, target)
        with db.transaction() as session:
            role = session.get(Role, "AROATRUSTING000000001")
            # the bucket's policy column alone: the model has columns later revisions add
            bucket_policy = session.scalar(select(Bucket.policy).where(Bucket.name == "b"))
            assert role is not None and bucket_policy is not None
            for text in (role.trust_policy, bucket_policy):
                shown = json.loads(text)["Statement"][0]["Principal"]["AWS"]
                assert shown == [expected, f"arn:aws:iam::{ACCOUNT}:user/ghost", ACCOUNT]
    db.dispose()
