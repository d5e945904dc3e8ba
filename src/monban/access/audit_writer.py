"""A worker's audit writer process (``python -m monban.access.audit_writer``): reads the facts of
each call from standard input, one line of JSON each (``access/audit.py``'s ``audit_facts``),
builds their CloudTrail records and appends them to the trail (``store/audit_log.py``'s
``AuditFiles``), one batch per read. A line ``F<n>`` is a flush marker: once every record before
it is written, ``<n>`` is answered on ``--answer-fd``. It ends when standard input closes (its
worker stopped, cleanly or not), after writing what it read; it ignores SIGINT and SIGTERM (a
Ctrl-C reaches the whole process group: the worker closes the pipe once it has sent everything).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
from pathlib import Path

from monban.access.audit import dumps, loads, records_from_facts
from monban.store.audit_log import AuditFiles

log = logging.getLogger("monban.audit")
READ_BYTES = 1 << 20


def lines_of(batch: bytes) -> tuple[bytes, list[bytes]]:
    """The trail's lines for a batch of fact lines, and the flush markers' numbers in it."""
    out, answers = [], []
    for line in batch.splitlines():
        if line.startswith(b"F"):
            answers.append(line[1:])
            continue
        try:
            out += [dumps(record) + b"\n" for record in records_from_facts(loads(line))]
        except Exception:  # one bad line loses its record, not the batch's
            log.exception("audit record could not be written")
    return b"".join(out), answers


def run(files: AuditFiles, answer_fd: int) -> None:
    pending = b""
    while chunk := os.read(0, READ_BYTES):
        pending += chunk
        cut = pending.rfind(b"\n") + 1
        if not cut:
            continue
        payload, answers = lines_of(pending[:cut])
        pending = pending[cut:]
        try:
            if payload:
                files.write(payload)
        except Exception:  # logged; the next batch may succeed (a full disk freed)
            log.exception("audit records lost")
        for number in answers:
            os.write(answer_fd, number + b"\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="monban.access.audit_writer")
    parser.add_argument("--folder", type=Path, required=True)
    parser.add_argument("--max-bytes", type=int, required=True)
    parser.add_argument("--files", type=int, required=True)
    parser.add_argument("--stdout", action="store_true")
    parser.add_argument("--answer-fd", type=int, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    files = AuditFiles(args.folder, max_bytes=args.max_bytes, files=args.files, to_stdout=args.stdout)
    run(files, args.answer_fd)


if __name__ == "__main__":
    main()
