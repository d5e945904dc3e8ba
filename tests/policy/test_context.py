"""RequestContext: case-insensitive keys, tuple values, empty sets, immutability."""

from __future__ import annotations

import pytest

from monban.policy.context import RequestContext


def make() -> RequestContext:
    return RequestContext(
        {
            "aws:username": "alice",
            "aws:TagKeys": ["Team", "Env"],
            "aws:PrincipalTag/CostCenter": "42",
            "aws:RequestTag/Empty": [],
            "aws:TokenIssueTime": None,
        }
    )


def test_single_and_multi_values_are_tuples() -> None:
    ctx = make()
    assert ctx.get("aws:username") == ("alice",)
    assert ctx.get("aws:TagKeys") == ("Team", "Env")


@pytest.mark.parametrize("key", ["aws:username", "AWS:UserName", "aws:USERNAME"])
def test_keys_are_case_insensitive(key: str) -> None:
    assert make().get(key) == ("alice",)


@pytest.mark.parametrize(
    "key", ["aws:PrincipalTag/CostCenter", "aws:principaltag/costcenter", "AWS:PRINCIPALTAG/COSTCENTER"]
)
def test_tag_keys_are_case_insensitive(key: str) -> None:
    assert make().get(key) == ("42",)


def test_absent_none_and_empty() -> None:
    ctx = make()
    assert ctx.get("aws:SourceIp") is None
    assert ctx.get("aws:TokenIssueTime") is None
    assert "aws:TokenIssueTime" not in ctx
    assert ctx.get("aws:RequestTag/Empty") == ()
    assert "aws:requesttag/empty" in ctx


def test_single() -> None:
    ctx = make()
    assert ctx.single("AWS:username") == "alice"
    assert ctx.single("aws:TagKeys") is None
    assert ctx.single("aws:RequestTag/Empty") is None
    assert ctx.single("aws:SourceIp") is None


def test_empty_constructors() -> None:
    assert len(RequestContext()) == 0
    assert len(RequestContext(None)) == 0
    assert len(RequestContext({})) == 0


def test_merged_adds_replaces_and_removes() -> None:
    ctx = make()
    merged = ctx.merged({"AWS:USERNAME": "bob", "aws:SourceIp": "10.0.0.1", "aws:TagKeys": None})
    assert merged.get("aws:username") == ("bob",)
    assert merged.get("aws:sourceip") == ("10.0.0.1",)
    assert merged.get("aws:tagkeys") is None
    assert ctx.get("aws:username") == ("alice",)
    assert ctx.get("aws:TagKeys") == ("Team", "Env")
    assert ctx.merged({"missing": None}) == ctx


def test_with_values() -> None:
    ctx = RequestContext().with_values(region="us-east-1", tags=("a", "b"))
    assert ctx.get("REGION") == ("us-east-1",)
    assert ctx.get("tags") == ("a", "b")


def test_iteration_and_len() -> None:
    ctx = make()
    assert sorted(ctx.keys()) == [
        "aws:principaltag/costcenter",
        "aws:requesttag/empty",
        "aws:tagkeys",
        "aws:username",
    ]
    assert dict(ctx.items())["aws:tagkeys"] == ("Team", "Env")
    assert len(ctx) == 4


def test_contains_rejects_non_strings() -> None:
    assert 42 not in make()


def test_immutable() -> None:
    ctx = make()
    with pytest.raises(AttributeError):
        ctx._values = {}
    with pytest.raises(AttributeError):
        ctx.anything = 1


def test_equality_and_repr() -> None:
    assert make() == make()
    assert make() != RequestContext({"aws:username": "alice"})
    assert make() != {"aws:username": ("alice",)}
    assert repr(RequestContext({"A": "b"})) == "RequestContext({'a': ('b',)})"


def test_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(make())


def test_input_sequence_is_copied() -> None:
    values = ["a"]
    ctx = RequestContext({"k": values})
    values.append("b")
    assert ctx.get("k") == ("a",)


def test_of_normalized_takes_the_values_as_they_are() -> None:
    values = {"aws:username": ("alice",), "aws:tagkeys": ("a", "b")}
    ctx = RequestContext.of_normalized(values)
    assert ctx == RequestContext({"aws:UserName": "alice", "aws:TagKeys": ["a", "b"]})
    assert ctx.get("AWS:USERNAME") == ("alice",)
