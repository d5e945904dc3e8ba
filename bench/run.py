"""``make bench``: every benchmark, each as a ratio to a peer measured in the same run.

Prints one markdown table (IAM GetUser, STS AssumeRole, S3 GetObject and PutObject, each with
--workers 1 and 2), the notes of the benches, how the figures were taken, the policy engine's
micro-benchmark summary (``bench/policy_bench.py``; ``--no-policy`` skips it), SigV4
verification beside botocore's signer (``bench/sigv4_bench.py``), and listing and paging as data
grows (``bench/scale_bench.py``; ``--no-scale`` skips it).

    .venv/bin/python bench/run.py [--seconds 10] [--no-policy] [--no-memory] [--no-scale]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import iam_bench, s3_bench, scale_bench, sigv4_bench, sts_bench
from bench.common import HEADER, conditions, have_wrk


def policy_summary() -> list[str]:
    """The policy engine's figures in two lines (its full table: ``bench/policy_bench.py``)."""
    from bench import policy_bench

    results = policy_bench.measure()
    return [
        f"Policy engine (bench/policy_bench.py): `evaluate` p50 {results.ours.p50:.2f} µs per decision "
        f"(ReadOnlyAccess + 5 inline policies, {results.request_kinds} request kinds); "
        f"with a fresh context per decision as the server builds it, p50 {results.fresh.p50:.2f} µs.",
        policy_bench.ratio_line(results),
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=int, default=10, help="length of each measured wrk run")
    parser.add_argument("--no-policy", action="store_true", help="skip the policy micro-benchmark")
    parser.add_argument("--no-memory", action="store_true", help="skip the 1 GiB S3 transfers")
    parser.add_argument("--no-scale", action="store_true", help="skip listing and paging at 1,000,000 keys")
    args = parser.parse_args()
    if not have_wrk():
        print("wrk is not installed: `apt-get install -y wrk` (Debian), then run `make bench` again.")
        return 1
    started = conditions()
    lines = iam_bench.run(args.seconds) + sts_bench.run(args.seconds)
    lines += s3_bench.run(args.seconds, with_memory=not args.no_memory)
    print(HEADER)
    print("\n".join(line for line in lines if line.startswith("|")), flush=True)
    notes = [line for line in lines if not line.startswith("|")] + [started]
    if not args.no_policy:
        notes += policy_summary()
    notes.append(
        "SigV4 (bench/sigv4_bench.py), µs per request, signing-key cache warm:\n\n"
        + "\n".join(sigv4_bench.summary())
    )
    if not args.no_scale:
        notes += scale_bench.run()
    for note in notes:
        print(f"\n{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
