"""monban's policy engine: parse and validate documents, compile them, evaluate requests, explain.

Pure: no I/O, no imports from the rest of monban, and nothing heavier than the engine itself
(``monban.policy.simulate``, the CLI front end, is not imported here; ``find_issues`` and its
catalogue machinery load on first use).

    doc = parse_policy(text, PolicyKind.IDENTITY)        # IAM's write-time validation
    named = load_policy(text, PolicyKind.IDENTITY, "arn:aws:iam::123456789012:policy/p")
    decision = evaluate(AuthzRequest(...), PolicySet(identity=(named,)))
    if not decision.allowed: message += denial_clause(decision)

``evaluate`` is imported eagerly on purpose: it shares its name with its module, and a lazy
import would leave ``monban.policy.evaluate`` bound to the module instead of the function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from monban.policy.compiled import NamedPolicy, compile_policy, load_policy
from monban.policy.context import RequestContext
from monban.policy.errors import MalformedPolicyDocument
from monban.policy.evaluate import evaluate
from monban.policy.explain import denial_clause
from monban.policy.model import PolicyKind
from monban.policy.parse import parse_policy
from monban.policy.request import AuthzRequest, PolicySet
from monban.policy.types import Decision, MatchedStatement, Principal

if TYPE_CHECKING:
    from monban.policy.findings import find_issues

__all__ = [
    "AuthzRequest",
    "Decision",
    "MalformedPolicyDocument",
    "MatchedStatement",
    "NamedPolicy",
    "PolicyKind",
    "PolicySet",
    "Principal",
    "RequestContext",
    "compile_policy",
    "denial_clause",
    "evaluate",
    "find_issues",
    "load_policy",
    "parse_policy",
]


def __getattr__(name: str) -> Any:
    """PEP 562: ``find_issues`` is imported on first use (it pulls in ``importlib.resources``)."""
    if name == "find_issues":
        from monban.policy.findings import find_issues

        return find_issues
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
