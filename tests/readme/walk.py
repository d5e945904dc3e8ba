"""Walk README.md as a new user would: its marked blocks, top to bottom, typed as printed.

A fenced block right after ``<!-- readme-test: KIND -->`` is one step of the walk:

- ``serve``: a ``make serve …`` line; the walk (re)starts the server with it, in the clone;
- ``banner``: what the last ``make serve`` printed (``…`` stands for anything on its line);
- ``run``: shell commands for the second terminal. In a ``console`` block each ``$ `` command is
  followed by the output it must print; in an ``sh`` block every command must succeed.

Values that differ on every run (key ids, secrets, times, request ids) may be printed as an example
and match any value of the same shape. The second terminal is one shell whose exported variables
carry from block to block; only the port differs from what the README prints.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARKER = re.compile(r"^(?P<indent> *)<!-- readme-test: (?P<kind>serve|banner|run) -->$")
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\w*)$")
HEREDOC = re.compile(r"<<-?\s*'?(?P<end>\w+)'?")
README_PORT = ":4747"
ERROR = "An error occurred ("

# Shapes of values that change from run to run: a printed example matches any value of its shape.
VOLATILE = (
    r"ASIA[A-Z2-7]{16}",
    r"AROA[A-Z2-7]{17}",
    r"(?<=\"SecretAccessKey\": \")[A-Za-z0-9/+]{40}",
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
    r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d",
    r"(?<=<RequestId>)[0-9A-F]{16}",
    r"(?<=<HostId>)[0-9A-F]{16}",
)
_VOLATILE = re.compile("|".join(f"(?P<v{i}>{shape})" for i, shape in enumerate(VOLATILE)))
_SHAPE = {f"v{i}": re.sub(r"^\(\?<=.*?\)", "", shape) for i, shape in enumerate(VOLATILE)}


@dataclass(frozen=True)
class Block:
    kind: str  # serve | banner | run
    lang: str  # sh | console | "" (plain text)
    text: str
    line: int  # where it starts in README.md, for messages


@dataclass(frozen=True)
class Command:
    text: str
    expected: str | None  # console: the output printed under it; sh: None (must succeed)


def blocks(readme: str) -> list[Block]:
    """The marked fenced blocks, in order, unindented."""
    lines = readme.split("\n")
    found = []
    for number, line in enumerate(lines):
        marker = MARKER.match(line)
        if marker is None:
            continue
        start = number + 1
        while not lines[start].strip():
            start += 1
        fence = FENCE.match(lines[start])
        assert fence, f"README.md:{number + 1}: a readme-test marker must precede a fenced block"
        indent = len(fence["indent"])
        end = lines.index(" " * indent + "```", start + 1)
        body = [text[indent:] for text in lines[start + 1 : end]]
        found.append(Block(marker["kind"], fence["lang"], "\n".join(body), start + 1))
    return found


def _complete(text: str) -> bool:
    """Whether ``text`` is a whole shell command (no trailing backslash, no open quote)."""
    if text.endswith("\\"):
        return False
    try:
        shlex.split(text, comments=True)
    except ValueError:
        return False
    return True


def _take_command(lines: list[str], start: int, first: str) -> tuple[str, int]:
    """The command that begins with ``first`` (line ``start``), through continuation lines and
    here-documents; returns it and the index of the line after it."""
    parts, index = [first], start + 1
    while not _complete("\n".join(parts)) and index < len(lines):
        parts.append(lines[index])
        index += 1
    heredoc = HEREDOC.search(parts[0])
    if heredoc:
        end = lines.index(heredoc["end"], index)
        parts += lines[index : end + 1]
        index = end + 1
    return "\n".join(parts), index


def commands(block: Block) -> list[Command]:
    """A block's commands, with the output a console block shows under each."""
    lines = block.text.split("\n")
    out: list[Command] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if block.lang == "console":
            assert line.startswith("$ "), f"README.md:{block.line}: console output before a command"
            text, index = _take_command(lines, index, line[2:])
            output = []
            while index < len(lines) and not lines[index].startswith("$ "):
                output.append(lines[index])
                index += 1
            out.append(Command(text, "\n".join(output)))
        elif not line.strip() or line.lstrip().startswith("#"):
            index += 1
        else:
            text, index = _take_command(lines, index, line)
            out.append(Command(text, None))
    return out


def pattern(expected: str) -> re.Pattern[str]:
    """``expected`` as a regular expression: ``…`` is anything on its line, volatile values match
    their shape, everything else is literal."""
    parts = []
    position = 0
    for match in _VOLATILE.finditer(expected):
        parts.append(_literal(expected[position : match.start()]))
        parts.append(_SHAPE[match.lastgroup or ""])
        position = match.end()
    parts.append(_literal(expected[position:]))
    return re.compile("".join(parts))


def _literal(text: str) -> str:
    return "[^\n]*".join(re.escape(piece) for piece in text.split("…"))


def on_port(text: str, port: int) -> str:
    return text.replace(README_PORT, f":{port}")


def normalized(output: str) -> str:
    """Output as compared: trailing spaces and trailing blank lines dropped."""
    return "\n".join(line.rstrip() for line in output.rstrip().split("\n"))


class Shell:
    """The second terminal: bash, whose exported variables persist from one block to the next."""

    MARK = "@@readme-test@@"

    def __init__(self, cwd: Path, state: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.state = state
        state.write_text("".join(f"export {name}={shlex.quote(value)}\n" for name, value in env.items()))

    def run(self, texts: list[str]) -> list[tuple[int, str]]:
        """Run the commands one after another; each one's exit status and output (stderr merged)."""
        script = ["exec 2>&1", f"source {shlex.quote(str(self.state))}"]
        for number, text in enumerate(texts):
            script += [f"printf '\\n{self.MARK} {number}\\n'", text, f"printf '\\n{self.MARK} rc %d\\n' $?"]
        script.append(f"export -p > {shlex.quote(str(self.state))}")
        done = subprocess.run(
            ["/bin/bash", "-c", "\n".join(script)],
            cwd=self.cwd,
            env={},
            stdout=subprocess.PIPE,
            text=True,
            timeout=300,
            check=False,
        )
        found = re.findall(
            rf"\n{self.MARK} (\d+)\n(.*?)\n{self.MARK} rc (\d+)\n", done.stdout, flags=re.DOTALL
        )
        assert [int(n) for n, _o, _r in found] == list(range(len(texts))), done.stdout
        return [(int(rc), output) for _n, output, rc in found]
