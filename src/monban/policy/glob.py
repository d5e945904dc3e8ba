"""The one wildcard matcher for actions, resources, StringLike and ArnLike.

IAM User Guide, "IAM JSON policy elements: Resource" / "Action" / "Condition operators" (StringLike):
``*`` matches any sequence of characters, including none, and crosses ``/`` and ``:``; ``?`` matches
exactly one character. There is no escape syntax in pattern text; a literal ``*``, ``?`` or ``$``
comes only from the policy-variable escapes ``${*}``, ``${?}``, ``${$}`` (``monban.policy.variables``),
which is why a pattern can also be built from *parts*: ``(text, literal)`` pairs where ``literal=True``
means every character of ``text`` stands for itself.

No regular expression is ever built from policy text. A pattern is split at its stars into chunks;
the first chunk must match at the start, the last at the end and the ones between are found greedily,
leftmost first — which is optimal for ``*`` — so matching is O(len(text) · len(pattern)) at worst and
usually a few ``str.find`` calls. Common shapes (exact, ``*``, ``prefix*``, ``*suffix``, ``*infix*``)
skip the general loop.

Case-insensitive matching lower-cases pattern and text (``str.lower``), as IAM does for action names
and ``StringEqualsIgnoreCase``-style comparisons.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import NamedTuple

__all__ = ["Glob", "glob_match", "has_wildcard"]


def has_wildcard(pattern: str) -> bool:
    """True when ``pattern`` (plain pattern text) contains ``*`` or ``?``."""
    return "*" in pattern or "?" in pattern


def glob_match(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """Does ``text`` match the IAM wildcard ``pattern`` (``*`` any run, ``?`` one character)?

    Compiles on every call; keep a :class:`Glob` when the same pattern is used again.
    """
    return Glob.compile(pattern, ignore_case=ignore_case).matches(text)


class _Chunk(NamedTuple):
    """The text between two stars: literal ``pieces`` at ``offset``\\ s, ``?`` wildcards in the gaps.

    ``length`` is the number of characters the chunk consumes (pieces plus ``?`` positions).
    An immutable named tuple rather than a dataclass: one is built per chunk on every compile.
    """

    length: int
    pieces: tuple[tuple[int, str], ...]

    def match_at(self, text: str, pos: int) -> bool:
        """Does the chunk match ``text`` starting exactly at ``pos`` (bounds already checked)?"""
        for offset, piece in self.pieces:  # noqa: SIM110 - a plain loop is faster than all(<genexpr>)
            if not text.startswith(piece, pos + offset):
                return False
        return True

    def find(self, text: str, start: int, end: int) -> int:
        """Leftmost ``pos >= start`` with the chunk inside ``text[start:end]``; -1 when none."""
        last = end - self.length
        if last < start:
            return -1
        if not self.pieces:
            return start
        offset, anchor = self.pieces[0]
        if len(self.pieces) == 1 and len(anchor) == self.length:
            return text.find(anchor, start, end)
        idx = text.find(anchor, start + offset, last + offset + len(anchor))
        while idx != -1:
            if self.match_at(text, idx - offset):
                return idx - offset
            idx = text.find(anchor, idx + 1, last + offset + len(anchor))
        return -1


class _Shape(IntEnum):
    EXACT = 0  # no wildcard: equality
    ANY = 1  # "*" alone (or only stars)
    PREFIX = 2  # "abc*"
    SUFFIX = 3  # "*abc"
    CONTAINS = 4  # "*abc*"
    GENERAL = 5  # anything else: chunk walk


# The members as module constants: ``shape is _EXACT`` skips the enum class attribute lookup.
_EXACT, _ANY, _PREFIX, _SUFFIX, _CONTAINS = (
    _Shape.EXACT,
    _Shape.ANY,
    _Shape.PREFIX,
    _Shape.SUFFIX,
    _Shape.CONTAINS,
)


class _ChunkBuilder:
    """Accumulates chunks while scanning pattern parts; one instance per compile, never shared."""

    __slots__ = ("chunks", "length", "pieces")

    def __init__(self) -> None:
        self.chunks: list[_Chunk] = []
        self.pieces: list[tuple[int, str]] = []
        self.length = 0

    def text(self, text: str) -> None:
        """Append literal characters, joining them to a piece that ends right here."""
        pieces = self.pieces
        if pieces and pieces[-1][0] + len(pieces[-1][1]) == self.length:
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + text)
        else:
            pieces.append((self.length, text))
        self.length += len(text)

    def pattern(self, text: str) -> None:
        """Append pattern text: ``*`` ends the chunk, ``?`` is one wildcard position."""
        for index, between_stars in enumerate(text.split("*")):
            if index:
                self.star()
            for position, run in enumerate(between_stars.split("?")):
                self.length += position > 0
                if run:
                    self.text(run)

    def star(self) -> None:
        self.chunks.append(_Chunk(self.length, tuple(self.pieces)))
        self.pieces = []
        self.length = 0

    def finish(self) -> tuple[_Chunk, ...]:
        self.star()
        return tuple(self.chunks)


def _chunks(parts: Iterable[tuple[str, bool]]) -> tuple[_Chunk, ...]:
    """Split pattern parts at their (non-literal) stars into chunks."""
    builder = _ChunkBuilder()
    for text, literal in parts:
        if literal:
            if text:
                builder.text(text)
        else:
            builder.pattern(text)
    return builder.finish()


def _plain(chunk: _Chunk) -> str | None:
    """The chunk's text when it has no ``?`` wildcard, else None."""
    if not chunk.pieces:
        return "" if chunk.length == 0 else None
    if len(chunk.pieces) == 1 and len(chunk.pieces[0][1]) == chunk.length:
        return chunk.pieces[0][1]
    return None


def _shape(chunks: tuple[_Chunk, ...]) -> tuple[_Shape, str]:
    """Pick a fast path for the chunk list, with the literal it needs ("" for GENERAL/ANY)."""
    maybe = [_plain(chunk) for chunk in chunks]
    plain = [text for text in maybe if text is not None]
    if len(plain) != len(chunks):
        return _Shape.GENERAL, ""
    if len(plain) == 1:
        return _Shape.EXACT, plain[0]
    head, tail = plain[0], plain[-1]
    inner = [text for text in plain[1:-1] if text]
    if not inner:
        if not head:
            return (_Shape.SUFFIX, tail) if tail else (_Shape.ANY, "")
        return (_Shape.PREFIX, head) if not tail else (_Shape.GENERAL, "")
    if len(inner) == 1 and not head and not tail:
        return _Shape.CONTAINS, inner[0]
    return _Shape.GENERAL, ""


@dataclass(frozen=True, slots=True)
class Glob:
    """A compiled IAM wildcard pattern; build with :meth:`compile` or :meth:`from_parts`.

    ``source`` is the pattern as written (literal parts shown as given), for explanations only.
    """

    source: str
    ignore_case: bool
    shape: _Shape
    literal: str
    chunks: tuple[_Chunk, ...]

    @classmethod
    def compile(cls, pattern: str, *, ignore_case: bool = False) -> Glob:
        """Compile pattern text where every ``*`` and ``?`` is a wildcard."""
        return cls.from_parts(((pattern, False),), ignore_case=ignore_case)

    @classmethod
    def from_parts(cls, parts: Iterable[tuple[str, bool]], *, ignore_case: bool = False) -> Glob:
        """Compile ``(text, literal)`` parts: ``literal=True`` text never acts as a wildcard.

        This is the form :meth:`monban.policy.variables.Template.render_parts` produces.
        """
        items = tuple((text.lower() if ignore_case else text, literal) for text, literal in parts)
        chunks = _chunks(items)
        shape, literal = _shape(chunks)
        source = "".join(text for text, _ in items)
        return cls(source, ignore_case, shape, literal, chunks)

    @property
    def is_exact(self) -> bool:
        """True when the pattern has no wildcard (matching is plain equality)."""
        return self.shape is _EXACT

    @property
    def matches_everything(self) -> bool:
        """True for ``*`` (or only stars): every text matches."""
        return self.shape is _ANY

    def matches(self, text: str) -> bool:
        """Does ``text`` match this pattern?"""
        if self.ignore_case:
            text = text.lower()
        shape = self.shape
        if shape is _EXACT:
            return text == self.literal
        if shape is _ANY:
            return True
        if shape is _PREFIX:
            return text.startswith(self.literal)
        if shape is _SUFFIX:
            return text.endswith(self.literal)
        if shape is _CONTAINS:
            return self.literal in text
        return self._walk(text)

    def _walk(self, text: str) -> bool:
        """General case: anchored head, anchored tail, greedy leftmost middle chunks."""
        chunks = self.chunks
        head = chunks[0]
        if len(chunks) == 1:
            return len(text) == head.length and head.match_at(text, 0)
        tail = chunks[-1]
        end = len(text) - tail.length
        if end < head.length or not head.match_at(text, 0) or not tail.match_at(text, end):
            return False
        if len(chunks) == 2:  # "head*tail"
            return True
        pos = head.length
        for chunk in chunks[1:-1]:
            found = chunk.find(text, pos, end)
            if found < 0:
                return False
            pos = found + chunk.length
        return True
