"""The request context: the condition keys and values one request carries.

IAM User Guide, "IAM JSON policy elements: Condition" (the request context) and "Single-valued vs.
multivalued context keys":

- condition key names are case-insensitive, so keys are stored lower-cased; that covers the tag
  keys inside ``aws:RequestTag/…``, ``aws:ResourceTag/…`` and ``aws:PrincipalTag/…`` too, which IAM
  also matches case-insensitively;
- a key is single-valued (one string) or multivalued (a list, e.g. ``aws:TagKeys``); both are kept
  as a tuple of strings. A key that is present with an empty list is an empty set, distinct from an
  absent key in the API (``()`` vs ``None``), although every operator treats the two alike.

A context is built on every request, so construction is one dict comprehension and lookups are one
dict probe (no ``str.lower`` when the key is already lower-cased, as compiled conditions and policy
variables pass it). It is immutable: :meth:`RequestContext.merged` returns a new one. A request
value that conditions read as an address, a date or a number is parsed once per context
(:meth:`RequestContext.parsed`), however many conditions read it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar, cast

__all__ = ["ContextValue", "RequestContext"]

ContextValue = str | Sequence[str] | None
"""What a caller may give for one key: a string, a list of strings, or None for "absent"."""

_Parsed = TypeVar("_Parsed")
_UNPARSED = object()  # marks a value not parsed yet (a parser may return None)


def _normalize(values: Mapping[str, ContextValue]) -> dict[str, tuple[str, ...]]:
    """Lower-case the keys and turn every value into a tuple; ``None`` values are left out."""
    return {
        key.lower(): (value,) if isinstance(value, str) else tuple(value)
        for key, value in values.items()
        if value is not None
    }


class RequestContext:
    """Immutable, case-insensitive map from condition key to the request's values for it.

    ``RequestContext({"aws:username": "alice", "aws:TagKeys": ["a", "b"], "aws:TokenIssueTime": None})``
    holds two keys; the ``None`` one is absent.
    """

    __slots__ = ("_parsed", "_values")
    _values: dict[str, tuple[str, ...]]
    _parsed: dict[tuple[Callable[[str], object], str], object]

    def __init__(self, values: Mapping[str, ContextValue] | None = None) -> None:
        object.__setattr__(self, "_values", _normalize(values) if values else {})
        object.__setattr__(self, "_parsed", {})

    @classmethod
    def of_normalized(cls, values: dict[str, tuple[str, ...]]) -> RequestContext:
        """A context over ``values`` as they are, without a copy: every key already lower-cased,
        every value a tuple. For a server that builds one context per request from parts it has
        normalised once (its caller's keys); ``values`` must not be changed afterwards."""
        fresh = cls()
        object.__setattr__(fresh, "_values", values)
        return fresh

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("RequestContext is immutable")

    def get(self, key: str) -> tuple[str, ...] | None:
        """The request's values for ``key`` (any case); None when the key is absent.

        Stored keys are lower-cased, so a key found as given is already lower-case (``str.lower``
        is idempotent) and is not lowered again.
        """
        values = self._values.get(key)
        return values if values is not None else self._values.get(key.lower())

    def single(self, key: str) -> str | None:
        """The value of a single-valued key; None when absent, empty or multivalued.

        This is what a policy variable resolves to ("IAM policy elements: Variables and tags":
        multivalued keys cannot be used as variables).
        """
        values = self._values.get(key)  # get(), inlined: policy variables resolve per request
        if values is None:
            values = self._values.get(key.lower())
        return values[0] if values is not None and len(values) == 1 else None

    def parsed(self, parse: Callable[[str], _Parsed], text: str) -> _Parsed:
        """``parse(text)``, computed once per context: ``parse`` must be a pure function (an
        address, date or number reader) and ``text`` one of this context's values. The cache is
        not part of the context's value: equality, ``repr`` and :meth:`merged` ignore it."""
        key = (parse, text)
        found = self._parsed.get(key, _UNPARSED)
        if found is _UNPARSED:
            found = self._parsed[key] = parse(text)
        return cast(_Parsed, found)  # parse(text), stored under this key

    def merged(self, values: Mapping[str, ContextValue]) -> RequestContext:
        """A new context with ``values`` added or replacing; a ``None`` value removes the key."""
        combined = dict(self._values)
        for key, value in values.items():
            if value is None:
                combined.pop(key.lower(), None)
            else:
                combined[key.lower()] = (value,) if isinstance(value, str) else tuple(value)
        fresh = RequestContext()
        object.__setattr__(fresh, "_values", combined)
        return fresh

    def with_values(self, **values: ContextValue) -> RequestContext:
        """Keyword form of :meth:`merged`, for keys that are Python identifiers."""
        return self.merged(values)

    def keys(self) -> Iterator[str]:
        """The (lower-cased) keys present."""
        return iter(self._values)

    def items(self) -> Iterator[tuple[str, tuple[str, ...]]]:
        """(lower-cased key, values) pairs."""
        return iter(self._values.items())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._values

    def __len__(self) -> int:
        return len(self._values)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RequestContext):
            return NotImplemented
        return self._values == other._values

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RequestContext({self._values!r})"
