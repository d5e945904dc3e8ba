"""Shared test fixtures: the ../shared folder, and a real monban server on an ephemeral port."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def shared() -> Path:
    return SHARED


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend", default="sqlite", choices=["sqlite", "postgres"], help="database of the e2e server"
    )
