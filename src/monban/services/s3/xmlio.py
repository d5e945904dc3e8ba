"""S3's REST XML: response documents and the small request documents S3 reads.

Responses: a dict becomes child elements in order, a list repeats its element name (S3 has no
``<member>`` wrappers: ``{"Contents": [a, b]}`` is two ``<Contents>``), None is left out, booleans
are ``true``/``false``. Requests are parsed with the standard library's expat parser, as UTF-8 text
only (S3's request documents are UTF-8) with no DTD at all: a ``<!DOCTYPE`` or ``<!ENTITY``, in
whatever encoding it was hidden, is MalformedXML, so no entity is ever expanded. Bounded sizes are
enforced by the caller.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any
from xml.sax.saxutils import escape

from monban.services.s3.call import S3_NS
from monban.services.s3.errors import malformed_xml

_INVALID_XML_CHARS = {c: f"&#x{c:X};" for c in range(32) if c not in (9, 10, 13)}


def text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value)).translate(_INVALID_XML_CHARS)


class Interleaved(tuple[tuple[str, Any], ...]):
    """Elements of different names in the order given, e.g. ListObjectVersions' ``Version`` and
    ``DeleteMarker`` entries (the name it is filed under in its document is not written)."""


def _element(name: str, value: Any, out: list[str]) -> None:
    if value is None:
        return
    if isinstance(value, Interleaved):
        for child, child_value in value:
            _element(child, child_value, out)
        return
    if isinstance(value, list | tuple):
        for item in value:
            _element(name, item, out)
        return
    out.append(f"<{name}>")
    if isinstance(value, Mapping):
        for child, child_value in value.items():
            _element(child, child_value, out)
    else:
        out.append(text(value))
    out.append(f"</{name}>")


def document(root: str, content: Mapping[str, Any]) -> bytes:
    """``<?xml …?><root xmlns="…s3…">…</root>`` as UTF-8 bytes."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n', f'<{root} xmlns="{S3_NS}">']
    for name, value in content.items():
        _element(name, value, out)
    out.append(f"</{root}>")
    return "".join(out).encode("utf-8")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse(body: bytes, root: str) -> ET.Element:
    """The root element of a request document; MalformedXML unless it is ``root``.

    The body must be UTF-8 (strict) without NUL, which XML 1.0 forbids anyway: a document in
    UTF-16 or UTF-32 (whose ASCII characters all carry NUL bytes, and which could hide a DTD from
    the check, ``<!DOCTYPE`` never appearing as such in its bytes) is refused before the parser.
    """
    try:
        content = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise malformed_xml() from exc
    if "<!DOCTYPE" in content or "<!ENTITY" in content or "\x00" in content:
        raise malformed_xml()
    try:
        element = ET.fromstring(content)
    except ET.ParseError as exc:
        raise malformed_xml() from exc
    if _local(element.tag) != root:
        raise malformed_xml()
    return element


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [child for child in element if _local(child.tag) == name]


def child_text(element: ET.Element, name: str) -> str | None:
    found = children(element, name)
    return (found[0].text or "") if found else None
