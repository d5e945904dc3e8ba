"""Options shared by every test: the e2e server's database backend."""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend", default="sqlite", choices=["sqlite", "postgres"], help="database of the e2e server"
    )
