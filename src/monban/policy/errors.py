"""Errors raised when IAM would refuse to store a policy document.

``MalformedPolicyDocument`` (HTTP 400) carries IAM's exact message text in ``.message``;
``PolicySizeExceeded`` is a document over a size quota: IAM's ``LimitExceeded`` (HTTP 409), e.g.
"Cannot exceed quota for PolicySize: 6144" or "Maximum policy size of 2048 bytes exceeded for user
alice", or ``ValidationError`` (HTTP 400) where the limit is an API parameter-length constraint
(the STS session policy, the 131,072-character PolicyDocument parameter). Every error declares its
AWS error ``code``; the service layer maps the code to a status.
"""

from __future__ import annotations


class MalformedPolicyDocument(Exception):
    """IAM's MalformedPolicyDocument: the document is not a valid policy (AWS message verbatim)."""

    code: str = "MalformedPolicyDocument"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PolicySizeExceeded(MalformedPolicyDocument):
    """A policy over its size quota; ``limit`` and ``size`` in IAM-counted characters."""

    def __init__(self, message: str, *, limit: int, size: int, code: str = "LimitExceeded") -> None:
        super().__init__(message)
        self.code = code
        self.limit = limit
        self.size = size
