"""Imports every model module so that ``Base.metadata`` knows every table (Alembic, tests)."""

from monban.store import models, s3_models

__all__ = ["models", "s3_models"]
