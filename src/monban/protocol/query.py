"""Query protocol requests: form parameters with ``.member.N`` lists and ``.entry.N`` maps."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import unquote_plus, unquote_to_bytes

from monban.protocol.errors import AwsError
from monban.protocol.numbers import NotAnInteger, parse_integer

_INDEX = re.compile(r"([0-9]+)(?:\.(.*))?", re.DOTALL)  # ASCII digits only (protocol.numbers)


MAX_FIELDS = 10_000


def _form_pairs(text: str, params: dict[str, str]) -> None:
    """``parse_qsl(text, keep_blank_values=True)`` into ``params``, with a fast path for members
    that need no decoding (no ``%`` or ``+``: the usual Action/Version/name parameters)."""
    members = text.split("&")
    if len(members) > MAX_FIELDS:
        raise ValueError("Max number of fields exceeded")
    for member in members:
        if not member:
            continue
        name, _, value = member.partition("=")
        if "%" in member or "+" in member:
            name, value = _unquote_plus(name), _unquote_plus(value)
        params[name] = value


def _unquote_plus(text: str) -> str:
    """``unquote_plus(text)``; for ASCII text (a form's usual case) without its split of the text
    into ASCII and other runs: the same bytes, decoded the same way, in two thirds of the time."""
    if "+" in text:
        text = text.replace("+", " ")
    if "%" not in text:
        return text
    if text.isascii():
        return unquote_to_bytes(text).decode("utf-8", "replace")
    return unquote_plus(text)


def decode_form(body: bytes, query: str) -> dict[str, str]:
    """Parameters from the URL query and an x-www-form-urlencoded body (body wins).

    Anything that is not valid UTF-8 or not a form is AWS's MalformedQueryString.
    """
    params: dict[str, str] = {}
    try:
        if query:
            _form_pairs(query, params)
        if body:
            _form_pairs(body.decode("utf-8"), params)
    except (UnicodeDecodeError, ValueError) as exc:
        raise AwsError("MalformedQueryString", "The query string is malformed.") from exc
    return params


class QueryParams:
    """Typed access to one request's parameters, raising AWS's errors."""

    def __init__(self, params: Mapping[str, str]) -> None:
        self.raw = params

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.raw.get(name, default)

    def required(self, name: str) -> str:
        value = self.raw.get(name)
        if value is None:
            raise AwsError(
                "ValidationError",
                f"1 validation error detected: Value null at "
                f"'{name[0].lower() + name[1:]}' failed to satisfy constraint: "
                "Member must not be null",
            )
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self.raw.get(name)
        if value is None or value == "":
            return default
        try:
            return parse_integer(value)
        except NotAnInteger as exc:
            raise AwsError("ValidationError", f"Invalid value for {name}: {value}") from exc

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        return default if value is None else value.lower() == "true"

    def _indexed(self, prefix: str) -> dict[int, dict[str, str]]:
        found: dict[int, dict[str, str]] = {}
        start = prefix + "."
        for key, value in self.raw.items():
            if key.startswith(start):
                match = _INDEX.fullmatch(key[len(start) :])
                if match:
                    found.setdefault(parse_integer(match.group(1)), {})[match.group(2) or ""] = value
        return found

    def members(self, prefix: str) -> list[str]:
        """``Prefix.member.1``, ``Prefix.member.2``… in index order."""
        items = self._indexed(prefix + ".member")
        return [items[i][""] for i in sorted(items) if "" in items[i]]

    def member_structs(self, prefix: str) -> list[dict[str, str]]:
        """``Tags.member.1.Key`` / ``Tags.member.1.Value``… as dicts in index order."""
        items = self._indexed(prefix + ".member")
        return [items[i] for i in sorted(items)]

    def indexed(self, prefix: str) -> list[str]:
        """EC2's flat lists, ``Prefix.1``, ``Prefix.2``… in index order (no ``.member``)."""
        items = self._indexed(prefix)
        return [items[i][""] for i in sorted(items) if "" in items[i]]

    def indexed_structs(self, prefix: str) -> list[dict[str, str]]:
        """EC2's lists of structures, ``Filter.1.Name`` / ``Filter.1.Value.1``…: one dict per index
        (keys below the index, such as ``Name`` and ``Value.1``), in index order."""
        items = self._indexed(prefix)
        return [items[i] for i in sorted(items)]
