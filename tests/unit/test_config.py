"""The bootstrap file: validation (every problem named by the path of its field) and application
to a real SQLite store (idempotent; updates; refusals roll back)."""

from __future__ import annotations

import secrets
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select

from monban.config import Bootstrap, BootstrapError, apply_bootstrap, load_bootstrap, parse_bootstrap
from monban.credentials.keyring import KeyRing
from monban.store.accounts import open_secret
from monban.store.db import Database, sqlite_url
from monban.store.models import AccessKey, Base, ManagedPolicy, PolicyVersion, Role, Tag, User

REPO = Path(__file__).resolve().parents[2]
ALLOW = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}],
}


def parse(text: str) -> Bootstrap:
    return parse_bootstrap(yaml.safe_load(textwrap.dedent(text)), "test.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(BootstrapError) as caught:
        parse(text)
    return caught.value.problems


def account(body: str, account_id: str = "111122223333") -> str:
    return f'Accounts:\n  - AccountId: "{account_id}"\n' + textwrap.indent(textwrap.dedent(body), "    ")


# --- reading -----------------------------------------------------------------------------------


def test_quickstart_is_valid() -> None:
    loaded = load_bootstrap(REPO / "examples" / "quickstart.yaml")
    alice_account, bob_account = loaded.accounts
    assert alice_account.account_id == "123456789010" and bob_account.account_id == "123456789012"
    assert alice_account.users[0].name == "alice" and alice_account.users[0].access_keys[0].access_key_id
    assert alice_account.roles[0].managed_policy_arns == ("arn:aws:iam::aws:policy/ReadOnlyAccess",)
    assert "arn:aws:iam::123456789010:user/alice" in alice_account.roles[0].assume_role_policy_document
    assert alice_account.root_access_keys == () and alice_account.buckets[0].name == "assume-role-test-bucket"
    with pytest.raises(AttributeError):
        alice_account.account_id = "x"  # type: ignore[misc]  # frozen


@pytest.mark.parametrize("digits", ["١٢٣٤٥٦٧٨٩٠١٢", "²" * 12])
def test_account_id_is_twelve_ascii_digits(digits: str) -> None:
    """Arabic-Indic digits match a Unicode ``\\d`` (they were taken as an account id); '²' passes
    ``str.isdigit``. Neither is an AWS account id."""
    assert problems(f'Accounts:\n  - AccountId: "{digits}"') == [
        "Accounts[0].AccountId: must be 12 digits (quote it in YAML)"
    ]


def test_documents_as_mappings_or_json_strings() -> None:
    loaded = parse(
        account(
            """
            Users:
              - UserName: u
                Policies:
                  - PolicyName: as-mapping
                    PolicyDocument:
                      Version: 2012-10-17
                      Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*"}]
                  - PolicyName: as-json
                    PolicyDocument: >-
                      {"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}
            """
        )
    )
    mapping, text = loaded.accounts[0].users[0].policies
    assert '"Version": "2012-10-17"' in mapping.document  # the YAML date is the string IAM wants
    assert text.document.startswith('{"Version":"2012-10-17"')


def test_empty_file_is_an_empty_bootstrap() -> None:
    assert parse("").accounts == ()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[1, 2]", "(top level): must be a mapping"),
        ("Acounts: []", "(top level).Acounts: unknown field"),
        ('Accounts:\n  - AccountId: "12345"', "Accounts[0].AccountId: must be 12 digits"),
        ("Accounts:\n  - Users: []", "Accounts[0].AccountId: is required"),
        (
            account("Users: [{UserName: 'has space'}]"),
            "Accounts[0].Users[0].UserName: must be 1-64 characters",
        ),
        (
            account(f"Users: [{{UserName: {'x' * 65}}}]"),
            "Accounts[0].Users[0].UserName: must be 1-64 characters",
        ),
        (
            account("Users: [{UserName: u, Path: nope}]"),
            "Accounts[0].Users[0].Path: must be / or start and end",
        ),
        (account("Users: [{UserName: u, Colour: red}]"), "Accounts[0].Users[0].Colour: unknown field"),
        (account("Users: {UserName: u}"), "Accounts[0].Users: must be a list"),
        (
            account("RootAccessKeys: [{AccessKeyId: ASIAAAAAAAAAAAAAAAAA, SecretAccessKey: s}]"),
            "Accounts[0].RootAccessKeys[0].AccessKeyId: must be AKIA followed by 16",
        ),
        (
            account("Users: [{UserName: u, AccessKeys: [{AccessKeyId: AKIAAAAAAAAAAAAAAAAA}]}]"),
            "Accounts[0].Users[0].AccessKeys[0].SecretAccessKey: is required",
        ),
        (
            account("RootAccessKeys: [{AccessKeyId: AKIAAAAAAAAAAAAAAAAA, SecretAccessKey: short}]"),
            "Accounts[0].RootAccessKeys[0].SecretAccessKey: must be 40 characters",
        ),
        (
            account("Users: [{UserName: u, Policies: [{PolicyName: p, PolicyDocument: {Statement: []}}]}]"),
            "Accounts[0].Users[0].Policies[0].PolicyDocument: MalformedPolicyDocument: Syntax errors",
        ),
        (
            account("Users: [{UserName: u, Policies: [{PolicyName: p, PolicyDocument: 42}]}]"),
            "Accounts[0].Users[0].Policies[0].PolicyDocument: must be a policy document",
        ),
        (
            account("Users: [{UserName: u, Tags: [{Key: 'aws:x', Value: v}]}]"),
            "Accounts[0].Users[0].Tags: User-defined tag keys can't start with 'aws:'.",
        ),
        (
            account("Users: [{UserName: u, Tags: [{Key: a, Value: '1'}, {Key: A, Value: '2'}]}]"),
            "Accounts[0].Users[0].Tags: Duplicate tag keys found.",
        ),
        (
            account("Users: [{UserName: u, Groups: [ghosts]}]"),
            "Accounts[0].Users[0].Groups[0]: no group ghosts",
        ),
        (
            account("Users: [{UserName: u, ManagedPolicyArns: ['arn:aws:iam::aws:policy/NoSuchPolicy']}]"),
            "Accounts[0].Users[0].ManagedPolicyArns[0]: arn:aws:iam::aws:policy/NoSuchPolicy is neither",
        ),
        (
            account(
                "Users: [{UserName: u, PermissionsBoundary: 'arn:aws:iam::111122223333:policy/missing'}]"
            ),
            "Accounts[0].Users[0].PermissionsBoundary: arn:aws:iam::111122223333:policy/missing is neither",
        ),
        (account("Users: [{UserName: u}, {UserName: U}]"), "Accounts[0].Users[1].UserName: duplicate user U"),
        (
            account("Roles: [{RoleName: r}]"),
            "Accounts[0].Roles[0].AssumeRolePolicyDocument: is required",
        ),
        (
            account(
                """
                Roles:
                  - RoleName: r
                    MaxSessionDuration: 60
                    AssumeRolePolicyDocument:
                      Version: "2012-10-17"
                      Statement: [{Effect: Allow, Principal: "*", Action: "sts:AssumeRole"}]
                """
            ),
            "Accounts[0].Roles[0].MaxSessionDuration: must be a number of seconds from 3600 to 43200",
        ),
        (
            account(
                """
                Roles:
                  - RoleName: r
                    AssumeRolePolicyDocument:
                      Version: "2012-10-17"
                      Statement: [{Effect: Allow, Action: "sts:AssumeRole", Resource: "*"}]
                """
            ),
            "Accounts[0].Roles[0].AssumeRolePolicyDocument: MalformedPolicyDocument:",
        ),
        (
            account("InstanceProfiles: [{InstanceProfileName: p, Roles: [missing]}]"),
            "Accounts[0].InstanceProfiles[0].Roles[0]: no role missing",
        ),
        (
            account("InstanceProfiles: [{InstanceProfileName: p, Roles: [a, b]}]"),
            "Accounts[0].InstanceProfiles[0].Roles: an instance profile holds at most 1 role",
        ),
        (account("Buckets: [{BucketName: Not_A_Bucket}]"), "Accounts[0].Buckets[0].BucketName: must be 3-63"),
        (
            account("Buckets: [{BucketName: fine-bucket, PolicyDocument: {Statement: 3}}]"),
            "Accounts[0].Buckets[0].PolicyDocument: MalformedPolicyDocument",
        ),
        (
            account("ServiceControlPolicies: [{Version: '2012-10-17', Statement: [{Effect: Allow}]}]"),
            "Accounts[0].ServiceControlPolicies[0]: MalformedPolicyDocument",
        ),
        (
            account("ManagedPolicies: [{ManagedPolicyName: m, PolicyDocument: {Statement: []}}]"),
            "Accounts[0].ManagedPolicies[0].PolicyDocument: MalformedPolicyDocument",
        ),
        (
            "Accounts: [{AccountId: '111122223333'}, {AccountId: '111122223333'}]",
            "Accounts[1].AccountId: duplicate",
        ),
    ],
)
def test_bad_fields_are_named_by_path(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in problem for problem in found), found


def test_inline_size_quota_is_checked_per_user() -> None:
    resource = "arn:aws:s3:::b/" + "x" * 1200
    big = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": resource}],
    }
    policies = [{"PolicyName": "a", "PolicyDocument": big}, {"PolicyName": "b", "PolicyDocument": big}]
    data = {"Accounts": [{"AccountId": "111122223333", "Users": [{"UserName": "u", "Policies": policies}]}]}
    with pytest.raises(BootstrapError) as caught:
        parse_bootstrap(data)
    assert caught.value.problems == [
        "Accounts[0].Users[0].Policies: LimitExceeded: Maximum policy size of 2048 bytes exceeded for user u"
    ]


def test_every_problem_is_reported_at_once() -> None:
    found = problems(
        account("Users: [{UserName: 'bad 1'}, {UserName: ok}, {UserName: 'bad 2'}]\nGroups: [{}]")
    )
    assert [p.split(":")[0] for p in found] == [
        "Accounts[0].Users[0].UserName",
        "Accounts[0].Users[2].UserName",
        "Accounts[0].Groups[0].GroupName",
    ]


def test_duplicate_access_key_ids_across_accounts() -> None:
    key = "{AccessKeyId: AKIAAAAAAAAAAAAAAAAA, SecretAccessKey: " + "s" * 40 + "}"
    text = (
        f'Accounts:\n  - AccountId: "111122223333"\n    RootAccessKeys: [{key}]\n'
        f'  - AccountId: "444455556666"\n    Users: [{{UserName: u, AccessKeys: [{key}]}}]\n'
    )
    assert any("duplicate access key id" in p for p in problems(text))


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(BootstrapError) as caught:
        load_bootstrap(missing)
    assert str(missing) in str(caught.value) and "cannot read the file" in str(caught.value)
    broken = tmp_path / "broken.yaml"
    broken.write_text("Accounts: [unclosed")
    with pytest.raises(BootstrapError) as caught:
        load_bootstrap(broken)
    assert "not valid YAML" in str(caught.value)


# --- applying ----------------------------------------------------------------------------------

FULL = """
Accounts:
  - AccountId: "111122223333"
    RootAccessKeys:
      - {AccessKeyId: AKIAROOTROOTROOTROOT, SecretAccessKey: rootrootrootrootrootrootrootrootrootroot}
    ServiceControlPolicies:
      - {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "*", Resource: "*"}]}
    ManagedPolicies:
      - ManagedPolicyName: shared
        Path: /team/
        Description: shared policy
        PolicyDocument:
          {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:Get*", Resource: "*"}]}
    Groups:
      - GroupName: devs
        ManagedPolicyArns: [arn:aws:iam::111122223333:policy/team/shared]
        Policies:
          - PolicyName: g
            PolicyDocument:
              {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "iam:Get*", Resource: "*"}]}
    Users:
      - UserName: erin
        Path: /people/
        Groups: [devs]
        ManagedPolicyArns: [arn:aws:iam::aws:policy/IAMReadOnlyAccess]
        PermissionsBoundary: arn:aws:iam::111122223333:policy/team/shared
        Tags: [{Key: team, Value: core}]
        AccessKeys:
          - {AccessKeyId: AKIAERINERINERINERIN, SecretAccessKey: erinerinerinerinerinerinerinerinerinerin}
    Roles:
      - RoleName: first
        AssumeRolePolicyDocument:
          {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "sts:AssumeRole",
           Principal: {AWS: "arn:aws:iam::111122223333:role/second"}}]}
      - RoleName: second
        MaxSessionDuration: 7200
        Description: trusted by nobody but frank
        Tags: [{Key: tier, Value: db}]
        AssumeRolePolicyDocument:
          {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "sts:AssumeRole",
           Principal: {AWS: "arn:aws:iam::444455556666:user/frank"}}]}
    InstanceProfiles:
      - {InstanceProfileName: box, Roles: [first]}
  - AccountId: "444455556666"
    Users: [{UserName: frank}]
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[Database, KeyRing]]:
    db = Database(sqlite_url(tmp_path))
    db.migrate()
    yield db, KeyRing.from_master(secrets.token_bytes(32))
    db.dispose()


def apply(store: tuple[Database, KeyRing], text: str, data_dir: Path) -> None:
    db, keyring = store
    with db.transaction() as session:
        apply_bootstrap(session, keyring, parse(text), data_dir=data_dir)


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the counters, in a stable order."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with db.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name != "counters":
                out[table.name] = sorted((tuple(row) for row in connection.execute(table.select())), key=repr)
    return out


def test_apply_twice_changes_nothing(store: tuple[Database, KeyRing], tmp_path: Path) -> None:
    apply(store, FULL, tmp_path)
    first = snapshot(store[0])
    assert len(first["users"]) == 2 and len(first["roles"]) == 2 and len(first["access_keys"]) == 2
    assert len(first["instance_profile_roles"]) == 1 and len(first["service_control_policies"]) == 1
    apply(store, FULL, tmp_path)
    assert snapshot(store[0]) == first


def test_apply_creates_working_entities(store: tuple[Database, KeyRing], tmp_path: Path) -> None:
    apply(store, FULL, tmp_path)
    db, keyring = store
    with db.transaction() as session:
        erin = session.scalar(select(User).where(User.name == "erin"))
        assert erin is not None and erin.arn == "arn:aws:iam::111122223333:user/people/erin"
        assert erin.permissions_boundary == "arn:aws:iam::111122223333:policy/team/shared"
        key = session.get(AccessKey, "AKIAERINERINERINERIN")
        assert key is not None and key.user_id == erin.id
        assert open_secret(keyring, key) == "erin" * 10
        root = session.get(AccessKey, "AKIAROOTROOTROOTROOT")
        assert root is not None and root.user_id is None and root.account_id == "111122223333"
        second = session.scalar(select(Role).where(Role.name == "second"))
        assert second is not None and second.max_session_duration == 7200
        first = session.scalar(select(Role).where(Role.name == "first"))
        assert first is not None and second.id in first.trust_policy  # roles may trust later roles
        assert session.scalar(select(Tag.value).where(Tag.entity_id == second.id)) == "db"


def test_apply_updates_what_differs(store: tuple[Database, KeyRing], tmp_path: Path) -> None:
    apply(store, FULL, tmp_path)
    changed = (
        FULL.replace('Action: "s3:Get*"', 'Action: "s3:List*"')
        .replace("Path: /people/", "Path: /staff/")
        .replace("erinerinerinerinerinerinerinerinerinerin", "ERINERINERINERINERINERINERINERINERINERIN")
        .replace("Value: core", "Value: edge")
    )
    apply(store, changed, tmp_path)
    db, keyring = store
    with db.transaction() as session:
        erin = session.scalar(select(User).where(User.name == "erin"))
        assert erin is not None and erin.arn == "arn:aws:iam::111122223333:user/staff/erin"
        key = session.get(AccessKey, "AKIAERINERINERINERIN")
        assert key is not None and open_secret(keyring, key) == "ERIN" * 10
        assert len(list(session.scalars(select(AccessKey).where(AccessKey.user_id == erin.id)))) == 1
        assert session.scalar(select(Tag.value).where(Tag.entity_id == erin.id)) == "edge"
    with db.transaction() as session:
        policy = session.scalar(select(ManagedPolicy).where(ManagedPolicy.name == "shared"))
        assert policy is not None and policy.default_version_id == "v2"  # a new default version
        versions = session.scalars(select(PolicyVersion).where(PolicyVersion.policy_id == policy.id))
        assert {v.version_id: "s3:List*" in v.document for v in versions} == {"v1": False, "v2": True}


def test_apply_refusal_rolls_back(store: tuple[Database, KeyRing], tmp_path: Path) -> None:
    """frank claims a key id that erin holds in the store: refused, and nothing else changes."""
    apply(store, FULL, tmp_path)
    before = snapshot(store[0])
    erin_key = (
        "{AccessKeyId: AKIAERINERINERINERIN, SecretAccessKey: erinerinerinerinerinerinerinerinerinerin}"
    )
    stolen = FULL.replace(f"          - {erin_key}\n", "").replace(
        "Users: [{UserName: frank}]", f"Users: [{{UserName: frank, AccessKeys: [{erin_key}]}}]"
    )
    stolen = stolen.replace("Value: core", "Value: changed")  # a change that must not survive
    with pytest.raises(BootstrapError) as caught:
        apply(store, stolen, tmp_path)
    assert caught.value.problems == [
        "Accounts[1].Users[0]: EntityAlreadyExists: Access key AKIAERINERINERINERIN belongs to another owner."
    ]
    assert snapshot(store[0]) == before


def test_trust_naming_a_missing_user_is_refused(store: tuple[Database, KeyRing], tmp_path: Path) -> None:
    text = account(
        """
        Roles:
          - RoleName: r
            AssumeRolePolicyDocument:
              {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "sts:AssumeRole",
               Principal: {AWS: "arn:aws:iam::999999999999:user/ghost"}}]}
        """
    )
    with pytest.raises(BootstrapError) as caught:
        apply(store, text, tmp_path)
    assert caught.value.problems == [
        "Accounts[0].Roles[0].AssumeRolePolicyDocument: MalformedPolicyDocument: "
        'Invalid principal in policy: "AWS":"arn:aws:iam::999999999999:user/ghost"'
    ]
    assert snapshot(store[0])["accounts"] == []
