"""trust and bucket policies name the users and roles they bind by unique id

Revision ID: 0003_principal_ids
Revises: 0002_s3_object_data

Documents stored before: each user or role ARN that names an existing entity becomes its unique id
(``monban.store.principals.bind``); one that names nobody stays as it was and grants no one.
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

from monban.store.principals import bind, render

revision = "0003_principal_ids"
down_revision = "0002_s3_object_data"
branch_labels = None
depends_on = None

_DOCUMENTS = (("roles", "id", "trust_policy"), ("s3_buckets", "name", "policy"))


def _rewrite(change: Callable[[Session, str], str]) -> None:
    session = Session(bind=op.get_bind())
    for table_name, key, column in _DOCUMENTS:
        table = sa.table(table_name, sa.column(key), sa.column(column))
        for row_key, text in session.execute(sa.select(table.c[key], table.c[column])).all():
            changed = change(session, text) if text else text
            if changed != text:
                session.execute(sa.update(table).where(table.c[key] == row_key).values({column: changed}))
    session.flush()


def upgrade() -> None:
    _rewrite(lambda session, text: bind(session, text, strict=False))


def downgrade() -> None:
    """Back to ARNs (a deleted entity's unique id stays, as IAM showed it before too)."""
    _rewrite(render)
