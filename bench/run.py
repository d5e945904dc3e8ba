"""``make bench``: every benchmark, each as a ratio to a peer measured in the same run."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import HEADER, have_wrk

HTTP_BENCHES = ["bench.iam_bench", "bench.sts_bench", "bench.s3_bench"]


def main() -> int:
    if not have_wrk():
        print("wrk is not installed: `apt-get install -y wrk` (Debian), then run `make bench` again.")
        return 1
    print(HEADER)
    for name in HTTP_BENCHES:
        for line in importlib.import_module(name).run():
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
