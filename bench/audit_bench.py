"""What the audit trail costs.

1. STS AssumeRole over HTTP at 32 connections (wrk): monban writing the audit trail
   (``--audit-files 10``) and not writing it (``--audit-files 0``, the default), alternated
   ``--rounds`` times in the same run; the median of each. AssumeRole's record is among the
   heaviest (request and response elements).
2. In process, per record: what the request path pays (build the ``AuditCall``, its CloudTrail
   record and JSON line, queue it) and what the audit thread pays (its share of the batched write).

Needs wrk; installs nothing.

    .venv/bin/python bench/audit_bench.py [--seconds 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import conditions, have_wrk, monban
from bench.sts_bench import assume_role, monban_setup

N = 20_000


def http_round(seconds: int, *extra: str) -> float:
    with monban(None, *extra) as running:
        key, role_arn = monban_setup(running)
        return assume_role(running.endpoint, key, role_arn, "monban", seconds).ok_per_second


def in_process() -> tuple[float, float]:
    """(µs on the request path, µs on the audit thread) per AssumeRole record."""
    from monban.access.audit import AuditCall, audit_lines
    from monban.access.principal import Caller, RequestInfo
    from monban.policy.types import Principal
    from monban.store.audit_log import AuditLog

    caller = Caller(
        Principal("User", "111122223333", "arn:aws:iam::111122223333:user/alice", "AIDAEXAMPLE"), "AKIA"
    )
    params = {"Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": "arn:aws:iam::111122223333:role/r"}
    result = {
        "Credentials": {
            "AccessKeyId": "ASIA",
            "SecretAccessKey": "s",
            "SessionToken": "t" * 400,
            "Expiration": datetime.now(UTC),
        },
        "AssumedRoleUser": {"AssumedRoleId": "AROA:s", "Arn": "arn:aws:sts::111122223333:assumed-role/r/s"},
    }
    info = RequestInfo("rid", datetime.now(UTC), "127.0.0.1", "Boto3/1.0", False, "us-east-1")
    with tempfile.TemporaryDirectory() as tmp:
        log = AuditLog(Path(tmp), max_bytes=1 << 30, files=1)
        start = time.perf_counter()
        for _ in range(N):
            log.put(audit_lines(AuditCall("sts", "AssumeRole", info, caller, "AKIA", params, result, None)))
        queued = time.perf_counter() - start
        log.flush(600)
        written = time.perf_counter() - start
        log.close()
    return queued / N * 1e6, (written - queued) / N * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=int, default=8, help="measured seconds per run (default: %(default)s)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of each, alternated (default: %(default)s)"
    )
    args = parser.parse_args()
    if not have_wrk():
        print("wrk is not installed (Debian: apt-get install -y wrk)", file=sys.stderr)
        return 1
    off: list[float] = []
    on: list[float] = []
    for _ in range(args.rounds):
        off.append(http_round(args.seconds, "--audit-files", "0"))
        on.append(http_round(args.seconds, "--audit-files", "10"))
    print(conditions())
    print(
        f"audit off: {statistics.median(off):7.0f} AssumeRole/s (runs: {', '.join(f'{x:.0f}' for x in off)})"
    )
    print(f"audit on:  {statistics.median(on):7.0f} AssumeRole/s (runs: {', '.join(f'{x:.0f}' for x in on)})")
    change = 100 * (statistics.median(on) / statistics.median(off) - 1)
    print(f"throughput with the audit trail: {change:+.1f}%")
    path, thread = in_process()
    print(f"per record: {path:.1f} µs on the request path, {thread:.1f} µs on the audit thread")
    return 0


if __name__ == "__main__":
    sys.exit(main())
