"""What the audit trail costs.

1. Over HTTP at 32 connections (wrk): STS AssumeRole (one of the heaviest records: request and
   response elements), and with ``--calls all`` S3 GetObject and PutObject of 4 KiB (a role
   session) and IAM GetUser too, on ``monban serve --workers 1`` and ``--workers 2``, writing the
   audit trail (``--audit-files 10``; on by default) and not writing it (``--audit-files 0``),
   alternated ``--rounds`` times in the same run (the order flips each round), moto's AssumeRole
   once a round for the peer ratio. Two figures per run: ok requests/s, and the server's CPU time
   per request (user + system time of the server, its workers and their audit writer processes
   over the measured run, from /proc; the writers' share apart): on a machine shared with other
   work the second moves far less than the first.
2. In process, per record: the CPU the request path pays (build the ``AuditCall``, write its
   facts as a line of JSON, queue it) and the CPU the worker's audit writer process pays (the
   CloudTrail record, its JSON, its share of the batched write).

Needs wrk; installs nothing.

    .venv/bin/python bench/audit_bench.py [--seconds 6] [--rounds 4] [--calls all]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    WARMUP_SECONDS,
    Replay,
    Running,
    check_replay,
    conditions,
    have_wrk,
    monban,
    moto,
    root_key,
    signed,
    signed_query,
    wrk,
)
from bench.s3_bench import BODY, _client, _setup_monban
from bench.sts_bench import assume_role, body, check_once, monban_setup, moto_setup

N = 20_000
BUCKET = "audit-bench"
TICKS = os.sysconf("SC_CLK_TCK")
WRITER = b"monban.access.audit_writer"
# (ok req/s, server CPU µs per request, the audit writers' share of it) of one measured run
Figures = tuple[float, float, float]


def tree_cpu_seconds(root: int) -> tuple[float, float]:
    """User + system CPU seconds of ``root`` and every process under it (its workers, their audit
    writers), and of the audit writers alone."""
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICKS)
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, (ppid, _cpu) in stats.items() if ppid in tree} - tree
        tree |= more
        grew = bool(more)
    writers = [pid for pid in tree if WRITER in _cmdline(pid)]
    return sum(stats[pid][1] for pid in tree if pid in stats), sum(stats[pid][1] for pid in writers)


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def measured(running: Running, replay: Replay, seconds: int) -> Figures:
    """Check, warm up, then one measured wrk run: (ok req/s, server CPU µs per request, the
    writers' share)."""
    check_replay(replay, "monban")
    wrk(replay.url, replay.method, replay.body, replay.headers, seconds=WARMUP_SECONDS)
    total, writers = tree_cpu_seconds(running.process.pid)
    result = wrk(replay.url, replay.method, replay.body, replay.headers, seconds=seconds)
    total_after, writers_after = tree_cpu_seconds(running.process.pid)
    check_replay(replay, "monban")
    per = 1e6 / max(result.requests, 1)
    return result.ok_per_second, (total_after - total) * per, (writers_after - writers) * per


def replays(running: Running, calls: list[str]) -> dict[str, Replay]:
    """A signed request of each kind measured."""
    key, role_arn = monban_setup(running)
    check_once(running.endpoint, key, role_arn)
    made = {"AssumeRole": signed_query(running.endpoint, "sts", body(role_arn), key)}
    if "S3 GetObject" in calls:
        session, token = _setup_monban(running, BUCKET)
        _client("s3", running.endpoint, session, token).put_object(Bucket=BUCKET, Key="get-4k", Body=BODY)
        base = f"{running.endpoint}/{BUCKET}"
        made["S3 GetObject"] = signed("GET", f"{base}/get-4k", "s3", session, token)
        headers = {"Content-Type": "application/octet-stream"}
        made["S3 PutObject"] = signed("PUT", f"{base}/put-4k", "s3", session, token, BODY.decode(), headers)
        get_user = "Action=GetUser&Version=2010-05-08&UserName=alice"
        made["IAM GetUser"] = signed_query(running.endpoint, "iam", get_user, root_key(running))
    return made


def server_round(workers: int, trail: str, calls: list[str], seconds: int) -> dict[str, Figures]:
    with monban(None, "--workers", str(workers), "--audit-files", trail) as running:
        made = replays(running, calls)
        return {call: measured(running, made[call], seconds) for call in calls}


def moto_round(seconds: int) -> float:
    with moto() as peer:
        key, role_arn = moto_setup(peer.endpoint)
        return assume_role(peer.endpoint, key, role_arn, "moto", seconds).ok_per_second


def in_process() -> tuple[float, float]:
    """(µs on the request path, CPU µs in the audit writer process) per AssumeRole record."""
    from monban.access.audit import AuditCall, audit_facts
    from monban.access.principal import Caller, RequestInfo
    from monban.access.state import audit_writer
    from monban.policy.types import Principal
    from monban.settings import Settings
    from monban.store.audit_log import AuditLog

    caller = Caller(
        Principal("User", "111122223333", "arn:aws:iam::111122223333:user/alice", "AIDAEXAMPLE"), "AKIA"
    )
    params = {"RoleArn": "arn:aws:iam::111122223333:role/r", "RoleSessionName": "s"}
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
        log = AuditLog(audit_writer(Settings(data_dir=Path(tmp))), enabled=True)
        log.put(audit_facts(AuditCall("sts", "AssumeRole", info, caller, "AKIA", params, result, None)))
        log.flush(60)  # the writer has started
        writer_before = tree_cpu_seconds(os.getpid())[1]
        start = time.thread_time()
        for _ in range(N):
            log.put(audit_facts(AuditCall("sts", "AssumeRole", info, caller, "AKIA", params, result, None)))
        queued = time.thread_time() - start
        log.flush(600)
        writer = tree_cpu_seconds(os.getpid())[1] - writer_before
        log.close()
    return queued / N * 1e6, writer / N * 1e6


def _span(values: list[float]) -> str:
    return f"{statistics.median(values):,.0f} ({min(values):,.0f}–{max(values):,.0f})"


def _change(on: list[float], off: list[float]) -> str:
    return f"{100 * (statistics.median(on) / statistics.median(off) - 1):+.1f}%"


def rate(runs: list[Figures]) -> list[float]:
    return [r[0] for r in runs]


def cpu(runs: list[Figures]) -> list[float]:
    return [r[1] for r in runs]


def writer_cpu(runs: list[Figures]) -> list[float]:
    return [r[2] for r in runs]


def report(runs: dict[tuple[str, int, str], list[Figures]], peer: list[float]) -> list[str]:
    """One line per call and worker count: median (range) of each figure, off and on."""
    lines = [f"moto AssumeRole ok req/s: {_span(peer)} (runs: {', '.join(f'{x:.0f}' for x in peer)})"]
    for call, workers in sorted({(c, w) for c, w, _t in runs}):
        off, on = runs[call, workers, "0"], runs[call, workers, "10"]
        ratio = ""
        if call == "AssumeRole" and peer:
            ratio = (
                f"; ratio to moto {statistics.median(rate(off)) / statistics.median(peer):.1f}× off, "
                f"{statistics.median(rate(on)) / statistics.median(peer):.1f}× on"
            )
        lines.append(
            f"{call}, --workers {workers}: ok req/s off {_span(rate(off))}, on {_span(rate(on))} "
            f"({_change(rate(on), rate(off))}); server CPU µs/request off {_span(cpu(off))}, "
            f"on {_span(cpu(on))} ({_change(cpu(on), cpu(off))}; the audit writers' share "
            f"{_span(writer_cpu(on))}){ratio}"
        )
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--seconds", type=int, default=6, help="measured seconds per run (default: %(default)s)"
    )
    parser.add_argument(
        "--rounds", type=int, default=4, help="runs of each, alternated (default: %(default)s)"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="(default: 1 2)")
    parser.add_argument(
        "--calls", choices=("assume-role", "all"), default="assume-role", help="(default: %(default)s)"
    )
    args = parser.parse_args()
    if not have_wrk():
        print("wrk is not installed (Debian: apt-get install -y wrk)", file=sys.stderr)
        return 1
    calls = ["AssumeRole"]
    if args.calls == "all":
        calls += ["S3 GetObject", "S3 PutObject", "IAM GetUser"]
    print(conditions())
    runs: dict[tuple[str, int, str], list[Figures]] = defaultdict(list)
    peer: list[float] = []
    for n in range(args.rounds):
        peer.append(moto_round(args.seconds))
        for workers in args.workers:
            for trail in ("0", "10") if n % 2 == 0 else ("10", "0"):
                for call, figures in server_round(workers, trail, calls, args.seconds).items():
                    runs[call, workers, trail].append(figures)
        print("\n".join(report(runs, peer)), flush=True)
        print(f"(after round {n + 1} of {args.rounds}; load average {os.getloadavg()[0]:.1f})", flush=True)
    path, thread = in_process()
    print(f"per record: {path:.1f} µs on the request path, {thread:.1f} µs in the audit writer process")
    return 0


if __name__ == "__main__":
    sys.exit(main())
