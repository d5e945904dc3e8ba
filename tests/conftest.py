"""Options shared by every test: the e2e server's database backend, and hypothesis without a
deadline (a timing threshold: it fails a correct test on a loaded machine, as CI's can be)."""

from __future__ import annotations

import pytest
from hypothesis import settings

settings.register_profile("monban", deadline=None)
settings.load_profile("monban")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend", default="sqlite", choices=["sqlite", "postgres"], help="database of the e2e server"
    )
