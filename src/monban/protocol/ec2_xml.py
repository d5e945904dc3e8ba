"""XML of EC2's Query dialect (API version 2016-11-15).

Unlike IAM and STS there is no ``…Result`` element: the fields sit in ``<{Action}Response>`` beside
``<requestId>``, names are lowerCamelCase (the handlers write them so), and list items are
``<item>``. Errors are ``<Response><Errors><Error>…</Error></Errors><RequestID>…`` (API Reference,
"Error codes": example error response).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape

from monban.protocol.errors import AwsError

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"


def _value(value: Any, out: list[str]) -> None:
    if isinstance(value, Mapping):
        for name, child in value.items():
            if child is None:
                continue
            out.append(f"<{name}>")
            _value(child, out)
            out.append(f"</{name}>")
    elif isinstance(value, list | tuple):
        for item in value:
            out.append("<item>")
            _value(item, out)
            out.append("</item>")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, datetime):
        out.append(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    else:
        out.append(escape(str(value)))


def ec2_response(action: str, result: Mapping[str, Any] | None, request_id: str) -> str:
    out = [f'<?xml version="1.0" encoding="UTF-8"?>\n<{action}Response xmlns="{EC2_NS}">']
    out.append(f"<requestId>{request_id}</requestId>")
    if result:
        _value(result, out)
    out.append(f"</{action}Response>")
    return "".join(out)


def ec2_error(error: AwsError, request_id: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error>'
        f"<Code>{escape(error.code)}</Code><Message>{escape(error.message)}</Message>"
        f"</Error></Errors><RequestID>{request_id}</RequestID></Response>"
    )
