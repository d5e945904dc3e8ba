"""The Alembic migrations build exactly the schema the models describe, and a database made by an
earlier revision upgrades in place without losing its rows."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text

from monban.store import schema  # noqa: F401 - every model on Base.metadata
from monban.store.db import MIGRATIONS, Database, sqlite_url
from monban.store.models import Base


def _config(connection: object) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def test_migrations_match_the_models(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    db.migrate()
    with db.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    db.dispose()
    assert differences == []


def test_a_first_revision_database_upgrades_and_keeps_its_objects(tmp_path: Path) -> None:
    engine = create_engine(sqlite_url(tmp_path))
    with engine.begin() as connection:
        command.upgrade(_config(connection), "0001_initial")
        connection.execute(
            text("INSERT INTO accounts (id, created_at) VALUES ('111122223333', CURRENT_TIMESTAMP)")
        )
        connection.execute(
            text(
                "INSERT INTO s3_buckets (name, account_id, region, created_at) "
                "VALUES ('b', '111122223333', 'us-east-1', CURRENT_TIMESTAMP)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO s3_objects (bucket, key, blobs, size, etag, last_modified, content_type, "
                "headers, user_metadata, storage_class) VALUES ('b', 'k', '[]', 0, '\"e\"', "
                "CURRENT_TIMESTAMP, 'text/plain', '{}', '[]', 'STANDARD')"
            )
        )
    engine.dispose()
    db = Database(sqlite_url(tmp_path))
    db.migrate()
    with db.engine.connect() as connection:
        columns = {row[1] for row in connection.execute(text("PRAGMA table_info(s3_objects)"))}
        buckets = connection.execute(text("SELECT name FROM s3_buckets")).scalars().all()
        objects = connection.execute(
            text("SELECT key, version_id, is_latest, delete_marker, seq FROM s3_objects")
        ).all()
    db.dispose()
    assert "data" in columns
    assert buckets == ["b"]
    assert [tuple(row) for row in objects] == [("k", "null", 1, 0, 0)]  # the key's null version
