"""A hostile bootstrap file (issue 17): whatever the file holds — bytes that are not UTF-8, YAML
that does not parse, values of every type in every field, an alias bomb, a value that contains
itself, nesting thousands deep — loading it gives a Bootstrap or a BootstrapError naming the
problem, never another exception, and in bounded time and memory."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monban.config import Bootstrap, BootstrapError, load_bootstrap

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
FIELDS = ["Accounts", "AccountId", "Users", "UserName", "Groups", "GroupName", "Roles", "RoleName", "Path"]
FIELDS += ["AssumeRolePolicyDocument", "Policies", "PolicyName", "PolicyDocument", "ManagedPolicyArns"]
FIELDS += ["AccessKeys", "AccessKeyId", "SecretAccessKey", "Tags", "Key", "Value", "Buckets", "BucketName"]
FIELDS += [
    "Objects",
    "Body",
    "OIDCProviders",
    "Url",
    "ClientIdList",
    "Jwks",
    "ThumbprintList",
    "InstanceProfiles",
]
FIELDS += ["ManagedPolicies", "ManagedPolicyName", "PermissionsBoundary", "MaxSessionDuration", "Description"]
FIELDS += ["Version", "Statement", "Effect", "Action", "Resource", "Principal", "Condition"]
leaf = (
    st.sampled_from(["123456789012", "2012-10-17", "Allow", "*", "/", "AKIAAAAAAAAAAAAAAAAA", "s3:*", ""])
    | st.text(max_size=12)
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.booleans()
    | st.none()
    | st.dates()
    | st.binary(max_size=8)
)
tree = st.recursive(
    leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(FIELDS), inner, max_size=4),
    max_leaves=25,
)


def outcome(path: Path) -> Bootstrap | BootstrapError:
    try:
        return load_bootstrap(path)
    except BootstrapError as error:
        assert error.problems
        return error


@FUZZ
@given(data=st.fixed_dictionaries({"Accounts": st.lists(tree, max_size=3)}) | tree)
def test_any_structure_loads_or_is_refused(tmp_path: Path, data: Any) -> None:
    path = tmp_path / "bootstrap.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    outcome(path)


@FUZZ
@given(text=st.binary(max_size=200) | st.text(st.sampled_from("[]{}:-&*!|>'\"#%@`,? \n\tab1"), max_size=200))
def test_any_bytes_load_or_are_refused(tmp_path: Path, text: bytes | str) -> None:
    path = tmp_path / "bootstrap.yaml"
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    outcome(path)


BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
    for p, c in zip("abcdefgh", "bcdefghi", strict=True)
)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (BOMB + "Accounts: [{AccountId: '123456789012', Policies: *i}]\n", "values once its aliases"),
        (
            BOMB + "Accounts: [{AccountId: '123456789012', Users: [{UserName: u, Policies: "
            "[{PolicyName: p, PolicyDocument: {Version: '2012-10-17', Statement: *i}}]}]}]\n",
            "values once its aliases",
        ),
        ("Accounts: &l [*l]\n", "contains itself"),
        ("Accounts: [{AccountId: '123456789012', Tags: &m {Key: *m}}]\n", "contains itself"),
        ("Accounts: " + "[" * 5000 + "]" * 5000 + "\n", "levels deep"),
        ("Accounts: " + "[" * 100 + "]" * 100 + "\n", "levels deep"),
    ],
)
def test_aliases_and_nesting_are_bounded(tmp_path: Path, text: str, problem: str) -> None:
    """A file of a few lines that expands to 10^9 values, or to itself, or nests deeper than any
    bootstrap file does: a BootstrapError, before anything walks the expansion."""
    path = tmp_path / "bootstrap.yaml"
    path.write_text(text)
    with pytest.raises(BootstrapError) as caught:
        load_bootstrap(path)
    assert any(problem in p for p in caught.value.problems), caught.value.problems
