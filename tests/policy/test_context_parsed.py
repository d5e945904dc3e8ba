"""RequestContext.parsed: a request value is parsed once per context; the cache is not its value."""

from __future__ import annotations

from monban.policy.context import RequestContext


class Counting:
    """A parser that counts its calls; None for text it cannot read, like the real ones."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, text: str) -> int | None:
        self.calls += 1
        return int(text) if text.isdigit() else None


def test_parsed_once_per_value() -> None:
    parse = Counting()
    ctx = RequestContext({"a": "42", "b": ["7", "x"]})
    assert [ctx.parsed(parse, "42") for _ in range(3)] == [42, 42, 42]
    assert [ctx.parsed(parse, "x") for _ in range(3)] == [None, None, None]  # None is cached too
    assert parse.calls == 2


def test_parsers_do_not_share_entries() -> None:
    ctx = RequestContext({"a": "42"})
    assert ctx.parsed(int, "42") == 42
    assert ctx.parsed(str.lower, "42") == "42"


def test_cache_is_not_part_of_the_value() -> None:
    parse = Counting()
    used, fresh = RequestContext({"a": "1"}), RequestContext({"a": "1"})
    used.parsed(parse, "1")
    assert used == fresh
    assert repr(used) == repr(fresh)
    merged = used.merged({})
    merged.parsed(parse, "1")
    assert parse.calls == 2  # a merged context starts with its own cache


def test_lower_cased_keys_skip_lowering() -> None:
    ctx = RequestContext({"AWS:SourceIp": "10.0.0.1", "Tags": ["a", "b"]})
    assert ctx.get("aws:sourceip") == ("10.0.0.1",)
    assert ctx.get("AWS:SOURCEIP") == ("10.0.0.1",)
    assert ctx.single("aws:sourceip") == "10.0.0.1"
    assert ctx.single("AWS:SourceIP") == "10.0.0.1"
    assert ctx.single("tags") is None
    assert ctx.single("missing") is None
