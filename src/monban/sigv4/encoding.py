"""Text as the bytes AWS signs, and the raw query string as decoded ``(name, value)`` pairs."""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

_PLUS, _PERCENT = ord("+"), ord("%")


def to_bytes(text: str) -> bytes:
    """UTF-8 bytes of ``text``; bytes smuggled in by ``surrogateescape`` come back unchanged."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def query_pairs(query: str) -> list[tuple[bytes, bytes]]:
    """The decoded ``(name, value)`` pairs of a raw query string, in order; ``+`` means a space.

    Empty members (``a=1&&b=2``) are skipped; a member without ``=`` has an empty value.
    """
    pairs: list[tuple[bytes, bytes]] = []
    if not query:
        return pairs
    for member in to_bytes(query).split(b"&"):
        if not member:
            continue
        name, _, value = member.partition(b"=")
        pairs.append((form_decode(name), form_decode(value)))
    return pairs


def form_decode(data: bytes) -> bytes:
    """A query name or value as the bytes it stands for: ``+`` is a space, ``%XY`` the byte XY."""
    # Most names and values hold no ``+`` or escape. (An int operand: ``b"+" in data`` is slower.)
    if _PLUS in data:
        data = data.replace(b"+", b" ")
    return unquote_to_bytes(data) if _PERCENT in data else data
