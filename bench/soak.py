"""Soak: minutes of mixed load on ``monban serve --workers 2``; errors, latency, and the workers'
memory over time.

One wrk run at 32 connections (2 threads) cycles through a mix of SigV4-signed requests (a Lua
script): STS AssumeRole and GetCallerIdentity, S3 PutObject and GetObject of 4 KiB with the role
session's credentials, and IAM writes (TagUser / UntagUser, each bumping the IAM generation every
worker re-reads). The load runs in rounds of at most ``ROUND_SECONDS`` (signatures are re-made
between rounds: AWS accepts a signed request for 15 minutes); the resident memory (VmRSS) of each
worker process is sampled every ``--sample-seconds`` throughout. The report: requests, ok
requests/s, p50/p99, errors (non-2xx answers and socket errors), each worker's RSS after the
warm-up, at its peak and at the end, and the audit trail's size (on by default): bytes per call of
each event type and of the mix, and per million calls of the mix (from the records in
``<data dir>/audit/audit.log*``: rotation may have dropped the oldest files, the averages hold).
Nothing here is a pass/fail threshold.

    .venv/bin/python bench/soak.py [--minutes 10] [--sample-seconds 10] [--serve-arg=--throttle=aws]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    CONNECTIONS,
    THREADS,
    Replay,
    _latency,
    check_replay,
    have_wrk,
    monban,
    root_key,
    signed,
)
from bench.common import signed_query as query
from bench.s3_bench import _client

BODY = (b"monban-soak-" * 400)[:4096]
BUCKET = "soak"
ROUND_SECONDS = 300
WARMUP_SECONDS = 10
# the mix: (name, weight); one wrk request in sum(weights) is each name's weight
MIX = (
    ("AssumeRole", 2),
    ("GetCallerIdentity", 3),
    ("S3 PutObject", 2),
    ("S3 GetObject", 3),
    ("IAM write", 1),
)


@dataclass
class Fixture:
    user_key: tuple[str, str]
    user_name: str
    role_arn: str
    session: tuple[tuple[str, str], str]


def set_up(endpoint: str, root: tuple[str, str]) -> Fixture:
    """A user (IAM, STS, S3 allowed), a role it may assume, the role's session, the bucket."""
    iam = _client("iam", endpoint, root)
    arn = iam.create_user(UserName="soak")["User"]["Arn"]
    allow = {"Effect": "Allow", "Action": ["iam:*", "sts:*", "s3:*"], "Resource": "*"}
    document = json.dumps({"Version": "2012-10-17", "Statement": [allow]})
    iam.put_user_policy(UserName="soak", PolicyName="all", PolicyDocument=document)
    created = iam.create_access_key(UserName="soak")["AccessKey"]
    trust = {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": arn}}
    role = iam.create_role(
        RoleName="soak", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    )["Role"]["Arn"]
    iam.put_role_policy(RoleName="soak", PolicyName="s3", PolicyDocument=document)
    user_key = (created["AccessKeyId"], created["SecretAccessKey"])
    c = _client("sts", endpoint, user_key).assume_role(
        RoleArn=role, RoleSessionName="soak", DurationSeconds=3600
    )["Credentials"]
    session = ((c["AccessKeyId"], c["SecretAccessKey"]), c["SessionToken"])
    s3 = _client("s3", endpoint, *session)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="get-4k", Body=BODY)
    return Fixture(user_key, "soak", role, session)


def requests(endpoint: str, f: Fixture) -> dict[str, list[Replay]]:
    """Freshly signed requests of each kind in the mix."""
    key, token = f.session
    base = f"{endpoint}/{BUCKET}"
    assume = f"Action=AssumeRole&Version=2011-06-15&RoleArn={f.role_arn}&RoleSessionName=soak"
    tag = f"Action=TagUser&Version=2010-05-08&UserName={f.user_name}"
    tag += "&Tags.member.1.Key=soak&Tags.member.1.Value=1"
    untag = f"Action=UntagUser&Version=2010-05-08&UserName={f.user_name}&TagKeys.member.1=soak"
    return {
        "AssumeRole": [query(endpoint, "sts", assume, f.user_key)],
        "GetCallerIdentity": [
            query(endpoint, "sts", "Action=GetCallerIdentity&Version=2011-06-15", key, token)
        ],
        "S3 PutObject": [
            signed(
                "PUT",
                f"{base}/put-4k",
                "s3",
                key,
                token,
                BODY.decode(),
                {"Content-Type": "application/octet-stream"},
            )
        ],
        "S3 GetObject": [signed("GET", f"{base}/get-4k", "s3", key, token)],
        "IAM write": [query(endpoint, "iam", tag, f.user_key), query(endpoint, "iam", untag, f.user_key)],
    }


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of ASCII text is a valid Lua string literal


def lua_script(kinds: dict[str, list[Replay]]) -> str:
    """wrk's script: each thread cycles through the weighted mix; non-2xx answers are counted by
    status, summed over the threads at the end."""
    lines = ["local reqs = {}", "local i = 0", "statuses = {}", "local threads = {}"]  # t:get reads globals
    lines.append("function init(args)")  # wrk.headers.Host (added by wrk.format) is set by now
    for name, weight in MIX:
        for n in range(weight):
            replay = kinds[name][n % len(kinds[name])]
            path = replay.url.split("/", 3)[3] if replay.url.count("/") >= 3 else ""
            headers = ", ".join(
                f"[{_lua_string(k)}] = {_lua_string(v)}"
                for k, v in replay.headers.items()
                if k.lower() not in ("content-length", "host")
            )
            body = _lua_string(replay.body) if replay.body else "nil"
            lines.append(
                f"table.insert(reqs, wrk.format({_lua_string(replay.method)}, {_lua_string('/' + path)}, "
                f"{{{headers}}}, {body}))"
            )
    lines += [
        "end",
        "function setup(thread) table.insert(threads, thread) end",
        "function request() i = i % #reqs + 1; return reqs[i] end",
        "function response(status, headers, body)",
        "  if status >= 300 then statuses[status] = (statuses[status] or 0) + 1 end",
        "end",
        "function done(summary, latency, requests)",
        "  for _, t in ipairs(threads) do",
        "    local s = t:get('statuses')",
        "    for code, n in pairs(s) do io.write(string.format('STATUS %d %d\\n', code, n)) end",
        "  end",
        "end",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class Totals:
    requests: int = 0
    seconds: float = 0.0
    socket_errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)


def run_wrk(endpoint: str, script: str, seconds: int, totals: Totals | None) -> None:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        command = ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{seconds}s", "--latency"]
        out = subprocess.run([*command, "-s", handle.name, endpoint + "/"], capture_output=True, text=True)
    finally:
        os.unlink(handle.name)
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed: {out.stdout}{out.stderr}")
    if totals is None:
        return
    text = out.stdout
    done = re.search(r"(\d+) requests in", text)
    if done is None:
        raise RuntimeError(f"wrk printed no request count: {text}")
    totals.requests += int(done.group(1))
    totals.seconds += seconds
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    totals.socket_errors += sum(int(g) for g in errors.groups()) if errors else 0
    for code, n in re.findall(r"^STATUS (\d+) (\d+)$", text, re.M):
        totals.statuses[int(code)] = totals.statuses.get(int(code), 0) + int(n)
    totals.p50.append(_latency(text, "50"))
    totals.p99.append(_latency(text, "99"))


def workers(server_pid: int) -> list[int]:
    """The worker processes of ``monban serve --workers N`` (its children running spawn_main)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == server_pid and b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
            found.append(int(entry.name))
    return sorted(found)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Sampler(threading.Thread):
    """VmRSS of each worker every ``every`` seconds, until stopped."""

    def __init__(self, pids: list[int], every: float) -> None:
        super().__init__(daemon=True)
        self.pids, self.every = pids, every
        self.samples: list[tuple[float, list[float]]] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stopped.is_set():
            self.samples.append((time.monotonic() - start, [rss_mib(p) for p in self.pids]))
            self.stopped.wait(self.every)


@dataclass
class AuditSize:
    """The audit trail's records by event type: ``(source, name)`` → (records, bytes with newline)."""

    files: int = 0
    by_event: dict[tuple[str, str], tuple[int, int]] = field(default_factory=dict)

    def lines(self) -> list[str]:
        count = sum(n for n, _b in self.by_event.values())
        size = sum(b for _n, b in self.by_event.values())
        if not count:
            return ["audit trail: no records in <data dir>/audit (was it turned off?)"]
        ranked = sorted(self.by_event.items(), key=lambda kv: -kv[1][0])
        mix = ", ".join(
            f"{name} ({source.split('.')[0]}) {b / n:,.0f} B × {n / count:.1%}"
            for (source, name), (n, b) in ranked
            if n / count >= 0.001
        )
        rare = sum(n for n, _b in self.by_event.values() if n / count < 0.001)
        mix += f"; {rare} other records (the set-up's calls)" if rare else ""
        return [
            f"audit trail: {count:,} records, {size:,} bytes in {self.files} file(s); "
            f"{size / count:,.0f} bytes "
            f"per call of the mix, {size / count * 1e6 / 2**20:,.0f} MiB per million calls",
            f"audit bytes per call by event (× share of the records): {mix}",
        ]


def audit_size(data_dir: Path) -> AuditSize:
    sizes = AuditSize()
    for path in sorted((data_dir / "audit").glob("audit.log*")):
        sizes.files += 1
        with path.open("rb") as handle:
            for line in handle:
                record = json.loads(line)
                event = (record.get("eventSource", ""), record.get("eventName", ""))
                n, b = sizes.by_event.get(event, (0, 0))
                sizes.by_event[event] = (n + 1, b + len(line))
    return sizes


def series(samples: list[tuple[float, list[float]]], every: float) -> list[str]:
    """One sample per ``every`` seconds (and the last), as ``seconds: total MiB``."""
    picked, due = [], 0.0
    for at, values in samples:
        if at >= due:
            picked.append(f"{at:.0f}: {sum(values):.1f}")
            due = at + every
    last_at, last = samples[-1]
    if not picked[-1].startswith(f"{last_at:.0f}:"):
        picked.append(f"{last_at:.0f}: {sum(last):.1f}")
    return picked


def report(totals: Totals, sampler: Sampler, audit: AuditSize, minutes: float) -> list[str]:
    errors = sum(totals.statuses.values()) + totals.socket_errors
    lines = [
        f"Soak: {minutes:g} min of mixed load (wrk -t{THREADS} -c{CONNECTIONS}) on monban serve --workers 2; "
        f"mix per {sum(w for _, w in MIX)} requests: " + ", ".join(f"{n} {w}" for n, w in MIX) + ".",
        f"requests: {totals.requests:,}, {totals.requests / totals.seconds:,.0f} req/s; "
        f"p50 {max(totals.p50):.2f} ms, p99 {max(totals.p99):.2f} ms (worst round)",
        f"errors: {errors} (non-2xx by status: {dict(sorted(totals.statuses.items())) or 'none'}; "
        f"socket errors: {totals.socket_errors})",
    ]
    first, last = sampler.samples[0][1], sampler.samples[-1][1]
    peaks = [max(s[1][i] for s in sampler.samples) for i in range(len(first))]
    for i in range(len(first)):
        lines.append(
            f"worker {i + 1} RSS MiB: after warm-up {first[i]:.1f}, peak {peaks[i]:.1f}, end {last[i]:.1f} "
            f"(growth {last[i] - first[i]:+.1f})"
        )
    lines.append("both workers' RSS MiB over time (s: MiB): " + ", ".join(series(sampler.samples, 60.0)))
    third = len(sampler.samples) // 3 or 1
    for label, part in (("first third", sampler.samples[:third]), ("last third", sampler.samples[-third:])):
        mean = sum(sum(s[1]) for s in part) / len(part)
        lines.append(
            f"both workers' RSS, mean over the {label} of the run: {mean:.1f} MiB ({len(part)} samples)"
        )
    return lines + audit.lines()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the measured load")
    parser.add_argument("--sample-seconds", type=float, default=10.0, help="RSS sampling interval")
    parser.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="one more argument for monban serve, e.g. --serve-arg=--throttle=aws (repeatable)",
    )
    args = parser.parse_args()
    if not have_wrk():
        print("wrk is not installed: `apt-get install -y wrk` (Debian), then run this again.")
        return 1
    with monban(None, "--workers", "2", *args.serve_arg) as server:
        assert server.data_dir is not None
        fixture = set_up(server.endpoint, root_key(server))
        for replay in (r for kind in requests(server.endpoint, fixture).values() for r in kind):
            check_replay(replay, "monban")  # each request of the mix succeeds, a mis-signed copy fails
        pids = workers(server.process.pid)
        run_wrk(server.endpoint, lua_script(requests(server.endpoint, fixture)), WARMUP_SECONDS, None)
        sampler = Sampler(pids, args.sample_seconds)
        sampler.start()
        totals = Totals()
        left = int(args.minutes * 60)
        while left > 0:
            round_seconds = min(left, ROUND_SECONDS)
            run_wrk(server.endpoint, lua_script(requests(server.endpoint, fixture)), round_seconds, totals)
            left -= round_seconds
        sampler.stopped.set()
        sampler.join()
        audit = audit_size(server.data_dir)
    print("\n".join(report(totals, sampler, audit, args.minutes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
