"""The token buckets of ``--throttle`` (access/throttle.py), on a clock the test moves."""

from __future__ import annotations

import pytest

from monban.access import throttle as mod
from monban.access.throttle import Admission, Limit, Throttle, admit_query, admit_s3, parse_limits
from monban.protocol.errors import AwsError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(mod.time, "monotonic", fake)
    return fake


def test_parse_limits() -> None:
    assert parse_limits("sts=600") == {"sts": Limit(600.0, 600.0)}
    assert parse_limits("iam=2:10, s3-write=3500") == {
        "iam": Limit(2.0, 10.0),
        "s3-write": Limit(3500.0, 3500.0),
    }
    aws = parse_limits("aws")
    assert aws["sts"] == Limit(600.0, 600.0) and aws["s3-read"].rate == 5500 and aws["s3-write"].rate == 3500
    assert parse_limits("aws,sts=5")["sts"] == Limit(5.0, 5.0)


@pytest.mark.parametrize(
    "spec", ["", "sts", "ec2=5", "sts=0", "sts=-1", "sts=x", "sts=5:0", "sts=nan", "sts=inf"]
)
def test_parse_limits_rejects(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_limits(spec)


def test_a_bucket_holds_its_burst_and_refills_at_its_rate(clock: Clock) -> None:
    limiter = Throttle({"sts": Limit(2.0, 3.0)})
    assert [limiter.allow("sts", "a") for _ in range(4)] == [True, True, True, False]
    clock.now += 0.5  # one token back
    assert [limiter.allow("sts", "a") for _ in range(2)] == [True, False]
    clock.now += 100  # never more than the burst
    assert sum(limiter.allow("sts", "a") for _ in range(10)) == 3


def test_accounts_and_classes_are_separate_and_unlimited_classes_pass(clock: Clock) -> None:
    limiter = Throttle({"sts": Limit(1.0, 1.0)})
    assert limiter.allow("sts", "a") and not limiter.allow("sts", "a")
    assert limiter.allow("sts", "b")
    assert all(limiter.allow("iam", "a") for _ in range(100))


def test_each_worker_takes_its_share(clock: Clock) -> None:
    limiter = Throttle({"sts": Limit(10.0, 10.0), "iam": Limit(1.0, 1.0)}, workers=2)
    assert sum(limiter.allow("sts", "a") for _ in range(20)) == 5
    clock.now += 1.0
    assert sum(limiter.allow("sts", "a") for _ in range(20)) == 5
    assert limiter.allow("iam", "a")  # a share of the burst is never below one request


def test_a_query_call_is_charged_once_and_answered_as_aws(clock: Clock) -> None:
    limiter = Throttle({"sts": Limit(1.0, 1.0)})
    admission = Admission()
    admit_query(limiter, "sts", "a", admission)
    admit_query(limiter, "sts", "a", admission)  # the same call, run again on a database thread
    with pytest.raises(AwsError) as caught:
        admit_query(limiter, "sts", "a", Admission())
    assert (caught.value.code, caught.value.message, caught.value.status) == (
        "Throttling",
        "Rate exceeded",
        400,
    )


def test_s3_reads_and_writes(clock: Clock) -> None:
    limiter = Throttle({"s3-read": Limit(1.0, 1.0), "s3-write": Limit(1.0, 1.0)})
    admit_s3(limiter, "GET", "a")
    admit_s3(limiter, "PUT", "a")
    for method in ("HEAD", "DELETE", "POST"):
        with pytest.raises(AwsError) as caught:
            admit_s3(limiter, method, "a")
        assert (caught.value.code, caught.value.status) == ("SlowDown", 503)
