"""Tables of container credentials: ECS tasks as records (no container runs).

A task is what the container credentials endpoint needs: its account, its task role's ARN, and a
digest of the authorization token its containers present (HMAC-SHA256 under a key derived from the
master key: the database alone reveals no token, and no token is ever stored in clear).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from monban.store.models import Base


class ContainerTask(Base):
    """One ECS task record (the bootstrap file's ``Tasks``)."""

    __tablename__ = "ecs_tasks"
    task_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    role_arn: Mapped[str] = mapped_column(String(2048))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
