"""Resource and ARN-condition matching field by field, against the rule they implement.

The reference splits the ARN into six fields (the last keeping any further colons; a pattern with
fewer fields matches its last one against the rest of the ARN) and matches each field with a glob
built from the rendered pattern field; a variable without a value matches nothing.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monban.policy.conditions import compile_condition
from monban.policy.context import RequestContext
from monban.policy.glob import Glob
from monban.policy.matching import ResourceMatcher
from monban.policy.model import ConditionClause
from monban.policy.variables import compile_template

V2012 = "2012-10-17"
CTX = RequestContext({"aws:username": "alice", "star": "a*", "colon": "x:y", "empty": ""})


def field_matches(field_pattern: str, text: str, ctx: RequestContext) -> bool:
    parts = compile_template(field_pattern, V2012).render_parts(ctx)
    return parts is not None and Glob.from_parts(parts).matches(text)


def reference(pattern: str, arn: str, ctx: RequestContext) -> bool:
    if pattern == "*":
        return True
    fields = [t.source for t in compile_template(pattern, V2012).split(":", 5)]
    arn_fields = arn.split(":", 5)
    if len(arn_fields) < len(fields):
        return False
    last = len(fields) - 1
    texts = [*arn_fields[:last], ":".join(arn_fields[last:])]
    return all(field_matches(field, text, ctx) for field, text in zip(fields, texts, strict=True))


@pytest.mark.parametrize(
    ("pattern", "arn", "expected"),
    [
        ("arn:aws:dynamodb:*:1:table/orders", "arn:aws:dynamodb:us-east-1:1:table/orders", True),
        ("arn:aws:dynamodb:*:1:table/orders", "arn:aws:dynamodb:us-east-1:2:table/orders", False),
        ("arn:aws:dynamodb:*:1:table/orders", "arn:aws:dynamodb:us-east-1:1:table/order", False),
        ("arn:aws:dynamodb:*:1:table/orders", "arn:aws:dynamodb:us-east-1:1", False),
        ("arn:aws:ec2:us-*:1:instance/*", "arn:aws:ec2:us-west-2:1:instance/i-1", True),
        ("arn:aws:ec2:us-*:1:instance/*", "arn:aws:ec2:eu-west-2:1:instance/i-1", False),
        ("arn:aws:iam::${aws:username}:user/*", "arn:aws:iam::alice:user/x", True),
        ("arn:aws:iam::${aws:username}:user/*", "arn:aws:iam::bob:user/x", False),
        ("arn:aws:iam::${missing}:*", "arn:aws:iam:::user/x", False),
        ("arn:aws:logs:*:*:log-group:*", "arn:aws:logs:r:1:log-group:g:log-stream:s", True),
        ("arn:aws:s3", "arn:aws:s3:::b", False),
        ("arn:aws:s3*", "arn:aws:s3:::b", True),
        ("arn:*:s3:::b", "arn:aws:s3:::b", True),
        ("a${*}:*", "a*:x:y", True),
        ("a${*}:*", "ab:x", False),
    ],
)
def test_table(pattern: str, arn: str, expected: bool) -> None:
    assert ResourceMatcher.compile(pattern, V2012).matches(arn, CTX) is expected
    assert reference(pattern, arn, CTX) is expected


def test_general_form_sorts_fields() -> None:
    matcher = ResourceMatcher.compile("arn:aws:ec2:*:${aws:username}:instance/i-?", V2012)
    assert matcher.head is None
    assert matcher.exact == ((0, "arn"), (1, "aws"), (2, "ec2"))
    assert [index for index, _ in matcher.globs] == [5]  # the "*" region is not tested at all
    assert [index for index, _ in matcher.dynamic] == [4]


INSTANCES = {  # pattern field -> request texts, most of them matching
    "": ["", "a"],
    "arn": ["arn", "arm"],
    "aws": ["aws", "aws-cn"],
    "s3": ["s3", "s3x"],
    "a": ["a", ""],
    "*": ["", "anything", "x:y"],
    "a*": ["a", "ab", "a:b", "b"],
    "?": ["x", "", "xy"],
    "b?": ["b1", "b", "c1"],
    "${aws:username}": ["alice", "bob"],
    "${star}*": ["a*", "a*b", "ab"],
    "${colon}": ["x:y", "x"],
}
FIELDS = st.lists(st.sampled_from(sorted(INSTANCES)), min_size=1, max_size=7)


@st.composite
def request_arn(draw: st.DrawFn, fields: list[str]) -> str:
    """An ARN built from texts for each pattern field, sometimes with fields missing or added."""
    texts = [draw(st.sampled_from(INSTANCES[field])) for field in fields]
    cut = draw(st.integers(min_value=1, max_value=len(texts)))
    extra = draw(st.lists(st.sampled_from(["", "x", "a:b"]), max_size=2))
    return ":".join(texts[:cut] if draw(st.booleans()) else texts + extra)


@settings(max_examples=400)
@given(FIELDS, st.data())
def test_resource_agrees_with_reference(fields: list[str], data: st.DataObject) -> None:
    pattern, arn = ":".join(fields), data.draw(request_arn(fields))
    assert ResourceMatcher.compile(pattern, V2012).matches(arn, CTX) is reference(pattern, arn, CTX)


def arn_reference(pattern: str, value: str, ctx: RequestContext) -> bool:
    fields = [t.source for t in compile_template(pattern, V2012).split(":", 5)]
    if len(fields) < 6:
        return field_matches(pattern, value, ctx)
    values = value.split(":", 5)
    return len(values) == 6 and all(field_matches(f, v, ctx) for f, v in zip(fields, values, strict=True))


@settings(max_examples=400)
@given(FIELDS, st.data())
def test_arn_condition_agrees_with_reference(fields: list[str], data: st.DataObject) -> None:
    pattern, value = ":".join(fields), data.draw(request_arn(fields))
    ctx = CTX.merged({"aws:SourceArn": value})
    condition = compile_condition(ConditionClause("ArnLike", "aws:SourceArn", (pattern,)), V2012)
    assert condition.holds(ctx) is arn_reference(pattern, value, ctx)
