"""The evaluation corpus: every case through the library and through ``monban simulate``.

Each case in ``corpus/*.json`` is a ``monban simulate`` request plus ``name``, ``rule`` (the AWS
rule it checks, cited from the IAM User Guide) and ``expect``: ``decision``, optionally ``stage``
(for a denial, the policy type the reason names; for an allow, a stage with an applying Allow) and
``reason`` (a substring of the reason).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monban.policy import evaluate
from monban.policy.simulate import build_request, decision_json

CORPUS = Path(__file__).parent / "corpus"
SRC = Path(__file__).resolve().parents[2] / "src"

STAGE_WORDS = {
    "identity": ("identity-based policy",),
    "resource": ("resource-based policy", "role trust policy"),
    "trust": ("role trust policy",),
    "boundary": ("permissions boundary",),
    "session": ("session policy",),
    "scp": ("service control policy",),
}


def _load() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for path in sorted(CORPUS.glob("*.json")):
        for case in json.loads(path.read_text()):
            cases.append((f"{path.stem}: {case['name']}", case))
    return cases


CASES = _load()
IDS = [case_id for case_id, _ in CASES]


def check(case: dict[str, Any], result: dict[str, Any]) -> None:
    expect = case["expect"]
    assert "error" not in result, result
    assert result["decision"] == expect["decision"], result
    reason = result["reason"] or ""
    if "reason" in expect:
        assert expect["reason"] in reason, result
    stage = expect.get("stage")
    if stage is None:
        return
    if result["decision"] == "allowed":
        want = "resource" if stage == "trust" else stage
        assert any(m["stage"] == want and m["effect"] == "Allow" for m in result["matched"]), result
    else:
        assert any(words in reason for words in STAGE_WORDS[stage]), result


def test_corpus_size_and_rules() -> None:
    assert len(CASES) >= 300
    assert len(set(IDS)) == len(IDS)
    for _, case in CASES:
        assert case["rule"].startswith(("IAM UG:", "Organizations UG:", "S3 UG:", "STS API:")), case["name"]
        assert case["expect"]["decision"] in ("allowed", "explicitDeny", "implicitDeny")


@pytest.mark.parametrize("case", [case for _, case in CASES], ids=IDS)
def test_library(case: dict[str, Any]) -> None:
    request, policies = build_request(case)
    check(case, decision_json(evaluate(request, policies)))


@pytest.fixture(scope="module")
def simulated() -> dict[str, dict[str, Any]]:
    """All cases through ``python -m monban.policy.simulate`` in one subprocess."""
    lines = "".join(json.dumps(case) + "\n" for _, case in CASES)
    env = {"PYTHONPATH": str(SRC)}
    done = subprocess.run(
        [sys.executable, "-m", "monban.policy.simulate"],
        input=lines,
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=120,
    )
    outputs = done.stdout.splitlines()
    assert len(outputs) == len(CASES), done.stderr
    return {case_id: json.loads(line) for case_id, line in zip(IDS, outputs, strict=True)}


@pytest.mark.parametrize("case_id", IDS)
def test_simulate_cli(case_id: str, simulated: dict[str, dict[str, Any]]) -> None:
    check(dict(CASES)[case_id], simulated[case_id])
