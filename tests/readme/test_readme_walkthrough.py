"""README.md top to bottom, as a new user types it: `make serve` in a clone, then every marked
command with the aws CLI in a shell whose HOME is empty (no ~/.aws) and whose PATH has the aws CLI
but not monban. Blocks are parsed from the README itself (tests/readme/walk.py), so the two cannot
drift; only the port differs from the printed one."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import free_port
from tests.readme.walk import ERROR, Block, Shell, blocks, commands, normalized, on_port, pattern

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
VENV = Path(sys.prefix)
CLONE_FILES = ("Makefile", "pyproject.toml", "README.md", "examples")


class Serve:
    """`make serve` (as the README prints it) in the clone, on the walk's port."""

    def __init__(self, clone: Path, home: Path, port: int) -> None:
        self.clone, self.home, self.port = clone, home, port
        self.process: subprocess.Popen[bytes] | None = None
        self.log = clone / "make-serve.log"

    def start(self, command: str) -> str:
        """Run ``command``; the banner it printed, once the server answers."""
        self.stop()
        env = {"PATH": "/usr/bin:/bin", "HOME": str(self.home), "PORT": str(self.port)}
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                ["/bin/bash", "-c", command],
                cwd=self.clone,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, f"{command!r} exited: {self.log.read_text()}"
            if self._healthy():
                text = self.log.read_text()
                return text[text.index("monban listening on") :]
            time.sleep(0.2)
        raise AssertionError(f"{command!r} did not start: {self.log.read_text()}")

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/_monban/health", timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """A clone's folder as `make serve` needs it: the Makefile and what it reads, and the .venv that
    `make test` built (its install stamp must be current, or make would reinstall)."""
    folder = tmp_path / "monban"
    folder.mkdir()
    for name in CLONE_FILES:
        (folder / name).symlink_to(REPO / name)
    (folder / ".venv").symlink_to(VENV)
    stamp = subprocess.run(
        ["make", "-q", ".venv/.installed-run"], cwd=folder, env={"PATH": "/usr/bin:/bin"}, check=False
    )
    assert stamp.returncode == 0, f"{VENV} is not installed by `make` (run the tests with `make test`)"
    return folder


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A new user's HOME: empty, no ~/.aws."""
    folder = tmp_path / "home"
    folder.mkdir()
    return folder


@pytest.fixture
def shell(tmp_path: Path, clone: Path, home: Path) -> Shell:
    """The second terminal, in the clone: the aws CLI on PATH (monban is not)."""
    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "aws").symlink_to(VENV / "bin" / "aws")
    env = {"PATH": f"{tools}:/usr/bin:/bin", "HOME": str(home), "LC_ALL": "C.UTF-8"}
    return Shell(clone, tmp_path / "shell-env.sh", env)


@pytest.fixture
def serve(clone: Path, home: Path) -> Iterator[Serve]:
    running = Serve(clone, home, free_port())
    yield running
    running.stop()


def check_run(block: Block, shell: Shell, port: int) -> int:
    """Run a block's commands; each prints what the README shows, or succeeds (sh). Their number."""
    steps = commands(block)
    results = shell.run([on_port(step.text, port) for step in steps])
    for step, (status, output) in zip(steps, results, strict=True):
        where = f"README.md:{block.line}: {step.text}\n--- printed:\n{output}"
        if step.expected is None:
            assert status == 0, where
            continue
        expected = normalized(on_port(step.expected, port))
        assert pattern(expected).fullmatch(normalized(output)), f"{where}\n--- README shows:\n{expected}"
        assert (status != 0) == (ERROR in expected), where
    return len(steps)


def check_banner(block: Block, printed: str, shell: Shell, port: int) -> None:
    """The banner is as shown, and its example command works as printed."""
    expected = normalized(on_port(block.text, port))
    lines = normalized(printed).split("\n")[: len(expected.split("\n"))]
    assert pattern(expected).fullmatch("\n".join(lines)), f"printed:\n{printed}\nREADME:\n{expected}"
    example = lines[-1].split("e.g. ", 1)[1]
    [(status, output)] = shell.run([example])
    assert status == 0 and '"RoleName": "read-only"' in output, output


def test_the_readme_as_printed(shell: Shell, serve: Serve) -> None:
    printed = ""
    count = {"serve": 0, "banner": 0, "run": 0, "commands": 0}
    for block in blocks(README.read_text()):
        count[block.kind] += 1
        if block.kind == "serve":
            [step] = commands(block)
            assert step.text.startswith("make serve"), block
            printed = serve.start(step.text)
        elif block.kind == "banner":
            check_banner(block, printed, shell, serve.port)
        else:
            count["commands"] += check_run(block, shell, serve.port)
    # the walk covers the quickstart, the five steps, the short-session restart, the role
    # profile, revocation, S3 presigning and virtual hosts: a README that lost its markers fails
    assert count["serve"] >= 3 and count["banner"] == 1 and count["commands"] >= 30, count
