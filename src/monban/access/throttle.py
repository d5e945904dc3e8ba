"""Per-account request-rate limits (``monban serve --throttle``): one token bucket per service
class and account, answered as AWS answers a throttled call.

AWS's figures, the ``aws`` preset:

- STS: 600 requests per second per account per Region, all STS calls together; for a
  cross-account AssumeRole the caller's account is charged (IAM User Guide, "IAM and AWS STS
  quotas"). Throttled: ``Throttling`` "Rate exceeded", HTTP 400 (AWS re:Post, "How do I resolve
  API throttling or 'Rate exceeded' errors for IAM and AWS STS?").
- IAM: AWS throttles IAM with token buckets per API and account but publishes no figure (AWS
  Security Blog, "How to monitor and query IAM resources at scale – Part 2"); the preset's 20 per
  second is monban's choice, for a control plane, not AWS's number. Same error as STS.
- S3: 3,500 PUT/COPY/POST/DELETE and 5,500 GET/HEAD requests per second per prefix (Amazon S3
  User Guide, "Best practices design patterns: optimizing Amazon S3 performance"). Beyond that
  S3 answers ``SlowDown`` "Please reduce your request rate.", HTTP 503.

Keys: the bucket is chosen by the authenticated account, never by anything unsigned. Requests
with no signature (AssumeRoleWithWebIdentity, AssumeRoleWithSAML, anonymous S3 reads) share one
bucket per class, so no unsigned input picks whose budget it spends. A request that fails
authentication never reaches the limiter: it is answered with its authentication error, and
cannot spend a real account's budget.

Per worker: each of ``--workers N`` processes keeps its own buckets at 1/N of the rate and burst
(the kernel spreads connections over the workers), so the server as a whole admits about the
configured rate, with no shared memory or database round trip on the request path. One client on
one keep-alive connection sees one worker's share.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from monban.protocol.errors import AwsError

CLASSES = ("sts", "iam", "s3-read", "s3-write")
# AWS's published figures (module docstring); IAM's is monban's example, AWS publishes none.
AWS_PRESET = "sts=600,iam=20,s3-read=5500,s3-write=3500"
ANONYMOUS_KEY = ""  # the one bucket per class of requests that carry no signature


@dataclass(frozen=True, slots=True)
class Limit:
    rate: float  # tokens added per second
    burst: float  # the bucket's size


def _number(text: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{spec}: {text!r} is not a number") from None
    if not 0 < value < 1e9:
        raise ValueError(f"{spec}: give a number above 0")
    return value


def parse_limits(spec: str) -> dict[str, Limit]:
    """``CLASS=RATE[:BURST],…`` (or ``aws`` for AWS's figures) as limits by class; ValueError
    for anything else. BURST defaults to RATE: one second's worth of requests."""
    limits: dict[str, Limit] = {}
    for part in (p.strip() for p in spec.split(",")):
        if part == "aws":
            limits.update(parse_limits(AWS_PRESET))
            continue
        name, sep, value = part.partition("=")
        if not sep or name not in CLASSES:
            raise ValueError(
                f"{part!r}: give CLASS=RATE[:BURST] with CLASS one of {', '.join(CLASSES)}, or aws"
            )
        rate_text, _, burst_text = value.partition(":")
        rate = _number(rate_text, part)
        limits[name] = Limit(rate, _number(burst_text, part) if burst_text else rate)
    return limits


class _Bucket:
    __slots__ = ("at", "tokens")

    def __init__(self, tokens: float, at: float) -> None:
        self.tokens = tokens
        self.at = at


class Throttle:
    """The buckets of one worker. Thread-safe: Query handlers also run on database threads."""

    def __init__(self, limits: dict[str, Limit], workers: int = 1) -> None:
        share = max(workers, 1)
        # a worker's share of the burst never drops below one request, or nothing would pass
        self._limits = {k: Limit(v.rate / share, max(v.burst / share, 1.0)) for k, v in limits.items()}
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self._lock = threading.Lock()

    def allow(self, kind: str, account: str) -> bool:
        """Take one token from ``(kind, account)``'s bucket; False when it is empty."""
        limit = self._limits.get(kind)
        if limit is None:
            return True
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get((kind, account))
            if bucket is None:
                bucket = self._buckets[(kind, account)] = _Bucket(limit.burst, now)
            bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.at) * limit.rate)
            bucket.at = now
            if bucket.tokens < 1.0:
                return False
            bucket.tokens -= 1.0
            return True


def throttle_from(spec: str, workers: int) -> Throttle | None:
    """The worker's limiter, or None when ``--throttle`` was not given (no cost on the request path)."""
    return Throttle(parse_limits(spec), workers) if spec else None


class Admission:
    """Whether one request has been admitted yet: a Query call that started on the event loop and
    moved to a database thread (``AppState.run_cached``) runs twice but is charged once."""

    __slots__ = ("admitted",)

    def __init__(self) -> None:
        self.admitted = False


def admit_query(throttle: Throttle, service: str, account: str, admission: Admission) -> None:
    """IAM's and STS's answer to a throttled request: ``Throttling`` "Rate exceeded" (400)."""
    if admission.admitted:
        return
    if not throttle.allow(service, account):
        raise AwsError("Throttling", "Rate exceeded")
    admission.admitted = True


_WRITES = frozenset({"PUT", "POST", "DELETE"})


def admit_s3(throttle: Throttle, method: str, account: str) -> None:
    """S3's answer to a throttled request: ``SlowDown`` (503). PUT, POST and DELETE (COPY is a
    PUT) count as writes, GET and HEAD (and anything else) as reads."""
    if not throttle.allow("s3-write" if method in _WRITES else "s3-read", account):
        raise AwsError("SlowDown", "Please reduce your request rate.")
