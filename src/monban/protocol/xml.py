"""XML responses of the Query protocol (IAM, STS) and the error envelopes.

A handler returns plain data: dicts become elements in insertion order, lists become ``<member>``
items, booleans ``true``/``false``, datetimes ISO-8601 with ``Z``, None is left out. The renderer
wraps it as ``<{Action}Response><{Action}Result>…</…><ResponseMetadata>…`` like AWS.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from monban.protocol.errors import AwsError

IAM_NS = "https://iam.amazonaws.com/doc/2010-05-08/"
STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/"


class Raw(str):
    """Already-rendered XML that the renderer inserts as is."""


@functools.lru_cache(maxsize=1024)
def utc_text(epoch_second: int) -> str:
    """``2026-11-27T20:00:00Z`` for a Unix second: how IAM and STS print times, and the form of the
    time condition keys. Memoised: requests format the current second (and its expiry an hour on)
    over and over, and strftime is a hot spot."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_second))


def iso8601(value: datetime) -> str:
    """``value`` (any zone) as ``utc_text`` prints it, to the second."""
    return utc_text(int(value.timestamp() // 1))


def _escape(text: str) -> str:
    """``escape(text)``, without its three replaces when there is nothing to escape (most values:
    names, ids, ARNs, dates)."""
    if "&" in text or "<" in text or ">" in text:
        return escape(text)
    return text


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso8601(value)
    return _escape(str(value))


def render_value(value: Any, out: list[str]) -> None:
    """Append the XML of ``value`` (the content of an element) to ``out``.

    The common shapes (plain str, dict) are tested first: an ABC check such as ``Mapping`` costs
    more than the rest of rendering a small response.
    """
    if type(value) is str:  # not Raw, a str subclass that is inserted as is
        out.append(_escape(value))
    elif isinstance(value, dict):
        _render_elements(value, out)
    elif isinstance(value, list | tuple):
        for item in value:
            out.append("<member>")
            render_value(item, out)
            out.append("</member>")
    elif isinstance(value, Raw):
        out.append(value)
    elif isinstance(value, Mapping):
        _render_elements(value, out)
    else:
        out.append(_scalar(value))


def _render_elements(value: Mapping[str, Any], out: list[str]) -> None:
    for name, child in value.items():
        if child is None:
            continue
        kind = type(child)
        if kind is str:  # most leaves: one append, no call to render_value
            out.append(f"<{name}>{_escape(child)}</{name}>")
        elif kind is dict:
            out.append(f"<{name}>")
            _render_elements(child, out)
            out.append(f"</{name}>")
        else:
            out.append(f"<{name}>")
            render_value(child, out)
            out.append(f"</{name}>")


def query_response(action: str, result: Mapping[str, Any] | None, namespace: str, request_id: str) -> str:
    """The success envelope; ``result`` None renders no ``…Result`` element (e.g. DeleteUser)."""
    out = [f'<{action}Response xmlns="{namespace}">']
    if result is not None:
        out.append(f"<{action}Result>")
        render_value(result, out)
        out.append(f"</{action}Result>")
    out.append(f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>")
    out.append(f"</{action}Response>")
    return "".join(out)


def query_error(error: AwsError, namespace: str, request_id: str) -> str:
    """``<ErrorResponse>`` as IAM and STS send it."""
    return (
        f'<ErrorResponse xmlns="{namespace}"><Error><Type>{error.fault}</Type>'
        f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message></Error>"
        f"<RequestId>{request_id}</RequestId></ErrorResponse>"
    )


def s3_error(error: AwsError, request_id: str, host_id: str = "") -> str:
    """S3's ``<Error>`` document, with any extra fields (BucketName, Key, StringToSign, …)."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<Error>']
    out.append(f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>")
    for name, value in error.extra.items():
        out.append(f"<{name}>{escape(value)}</{name}>")
    out.append(f"<RequestId>{request_id}</RequestId><HostId>{escape(host_id)}</HostId></Error>")
    return "".join(out)
