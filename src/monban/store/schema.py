"""Imports every model module so that ``Base.metadata`` knows every table (Alembic, tests)."""

from monban.store import ec2_models, ecs_models, models, s3_models

__all__ = ["ec2_models", "ecs_models", "models", "s3_models"]
