"""The audit trail's files: one JSON line per API call, written off the request path and out of
the worker's process.

The request path queues each call's facts as one line of JSON (``AuditLog.put``: bytes, made by
``access/audit.py``). One thread per worker drains the queue every ``BATCH_SECONDS`` (sooner for a
flush: it takes the interpreter lock some twenty times a second, whatever the load) and writes
the batch down a pipe to the worker's audit writer process (``access/audit_writer.py``), which
builds the CloudTrail records and appends them with ``AuditFiles``: what a record costs is paid
there, not under the worker's interpreter lock. A clean stop loses nothing (at exit the thread
sends what is queued, closes the pipe and waits for the writer to finish). A writer that dies is
replaced by a new one at the next batch; the records it had read and not yet written, and those
in the dead pipe, are lost (logged).

``AuditFiles`` appends each batch to ``<data dir>/audit/audit.log`` with a single ``write`` on a
file opened ``O_APPEND``: every writer of a server appends to the same file, and whole lines never
interleave (POSIX: each write with O_APPEND seeks to the end and writes atomically with respect
to other appends on a local file system). The file and the folder are owner-only (0600 / 0700).

Rotation: when the file exceeds ``max_bytes``, the writer that notices takes ``audit.lock``
(``flock``), and, if the file is still the big one, renames ``audit.log.N-1`` → ``audit.log.N`` …
``audit.log`` → ``audit.log.1``, keeping ``files`` rotated files (0: no file, stdout only). Every
writer checks before each batch whether ``audit.log`` is still the file it holds open (same
inode) and reopens it if not; a batch written meanwhile lands whole in ``audit.log.1``, nothing is lost.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import queue
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from monban.store.datadir import AUDIT

log = logging.getLogger("monban.audit")

AUDIT_FILE = "audit.log"
LOCK_FILE = "audit.lock"
FILE_MODE = 0o600
DIR_MODE = 0o700
BATCH_SECONDS = 0.05  # the audit thread's pause after a batch, while the next gathers (a flush ends it)

Record = dict[str, Any]


def audit_dir(data_dir: Path) -> Path:
    return data_dir / AUDIT


def audit_files(folder: Path) -> list[Path]:
    """The trail's files, oldest first (``audit.log.N`` … ``audit.log.1``, ``audit.log``)."""
    rotated = []
    for path in folder.glob(AUDIT_FILE + ".*"):
        suffix = path.name[len(AUDIT_FILE) + 1 :]
        if suffix.isdigit():
            rotated.append((int(suffix), path))
    current = folder / AUDIT_FILE
    return [path for _n, path in sorted(rotated, reverse=True)] + ([current] if current.exists() else [])


def read_records(folder: Path) -> Iterator[Record]:
    """Every record of the trail, oldest first; a line that is not a JSON object is skipped."""
    for path in audit_files(folder):
        with contextlib.suppress(FileNotFoundError), path.open("rb") as handle:
            for line in handle:
                try:
                    record = json.loads(line)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    yield record


class _Flush:
    """A marker in the queue: the writer answers its number once every record before it is written."""

    def __init__(self, number: int) -> None:
        self.number = number


class AuditLog:
    """One worker's end of the trail (see the module docstring): ``command`` starts its writer."""

    def __init__(self, command: list[str], *, enabled: bool) -> None:
        self.command = command
        self.enabled = enabled  # False: nowhere to write (``--audit-files 0`` and no stdout)
        self._queue: queue.SimpleQueue[bytes | _Flush | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._hurry = threading.Event()  # set by a flush or the close: the thread sends at once
        self._flushes = 0
        self._writer: subprocess.Popen[bytes] | None = None
        # the writers' answers to flush markers: one pipe for the log's life (every writer gets the
        # write end), made with the thread
        self._answers, self._answer_end = -1, -1

    def put(self, facts: bytes) -> None:
        """Queue one call's facts (the request path's only cost but making them)."""
        if not self.enabled:
            return
        if self._thread is None:
            self._start()
        self._queue.put(facts)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until every record queued so far is written (LookupEvents reads its own calls)."""
        if self._thread is None:
            return
        with self._flush_lock:
            self._flushes += 1
            number = str(self._flushes).encode()
            self._queue.put(_Flush(self._flushes))
            self._hurry.set()
            deadline = time.monotonic() + timeout
            while (left := deadline - time.monotonic()) > 0:
                ready = select.select([self._answers], [], [], left)[0]
                if ready and number in os.read(self._answers, 4096).split():
                    return

    def close(self) -> None:
        """Send what is queued, then stop the writer (at exit: a clean stop loses no record)."""
        thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            self._hurry.set()
            thread.join(30.0)

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._answers, self._answer_end = os.pipe()
                thread = threading.Thread(target=self._drain, name="monban-audit", daemon=True)
                thread.start()
                atexit.register(self.close)
                self._thread = thread

    def _drain(self) -> None:
        while True:
            batch = [self._queue.get()]
            with contextlib.suppress(queue.Empty):
                while True:
                    batch.append(self._queue.get_nowait())
            payload = b"".join(
                item if isinstance(item, bytes) else b"F%d\n" % item.number
                for item in batch
                if item is not None
            )
            try:
                if payload:
                    self._send(payload)
            except Exception:  # an audit failure is logged; the server keeps answering
                log.exception("audit records lost")
            if any(item is None for item in batch):
                self._stop_writer()
                return
            self._hurry.wait(BATCH_SECONDS)
            self._hurry.clear()

    def _send(self, payload: bytes) -> None:
        """Down the pipe to the writer; a writer found dead is replaced once, then the batch goes."""
        for attempt in (1, 2):
            writer = self._writer or self._spawn()
            assert writer.stdin is not None
            try:
                writer.stdin.write(payload)
                writer.stdin.flush()
                return
            except (BrokenPipeError, ValueError) as error:
                self._stop_writer()
                log.error(
                    "the audit writer process %s ended (%s); records in flight are lost; %s",
                    writer.pid,
                    writer.returncode,
                    "starting another" if attempt == 1 else "giving this batch up",
                )
                if attempt == 2:
                    raise OSError("no audit writer") from error

    def _spawn(self) -> subprocess.Popen[bytes]:
        end = self._answer_end
        command = [*self.command, "--answer-fd", str(end)]
        self._writer = subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=(end,))
        return self._writer

    def _stop_writer(self) -> None:
        writer, self._writer = self._writer, None
        if writer is not None:
            with contextlib.suppress(OSError, ValueError):
                assert writer.stdin is not None
                writer.stdin.close()
            try:
                writer.wait(20.0)
            except subprocess.TimeoutExpired:
                log.error("the audit writer process %s did not finish; stopping it", writer.pid)
                writer.kill()


class AuditFiles:
    """The writer's appends to the trail (see the module docstring); ``files`` 0: stdout only."""

    def __init__(self, folder: Path, *, max_bytes: int, files: int, to_stdout: bool = False) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.files = files
        self.to_stdout = to_stdout
        self._fd = -1

    def write(self, payload: bytes) -> None:
        if self.to_stdout:
            sys.stdout.buffer.write(payload)
            sys.stdout.flush()
        if self.files > 0:
            fd = self._open()
            os.write(fd, payload)
            if os.fstat(fd).st_size > self.max_bytes:
                self._rotate(fd)

    def _open(self) -> int:
        """The current file, reopened when another worker rotated it away."""
        path = self.folder / AUDIT_FILE
        if self._fd >= 0:
            try:
                same = os.stat(path).st_ino == os.fstat(self._fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return self._fd
            os.close(self._fd)
            self._fd = -1
        self.folder.mkdir(DIR_MODE, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        os.fchmod(fd, FILE_MODE)
        self._fd = fd
        return fd

    def _rotate(self, fd: int) -> None:
        lock = os.open(self.folder / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            path = self.folder / AUDIT_FILE
            try:
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    return  # another worker rotated it first
            except FileNotFoundError:
                return
            with contextlib.suppress(FileNotFoundError):
                (self.folder / f"{AUDIT_FILE}.{self.files}").unlink()
            for n in range(self.files - 1, 0, -1):
                with contextlib.suppress(FileNotFoundError):
                    os.rename(self.folder / f"{AUDIT_FILE}.{n}", self.folder / f"{AUDIT_FILE}.{n + 1}")
            os.rename(path, self.folder / f"{AUDIT_FILE}.1")
        finally:
            os.close(lock)
