"""Tables of the EC2-compatible surface: instances as records (no machine runs).

An instance is what an instance role needs: an id, an account and Region, a state, tags, and the
IAM instance profile associated with it (by the profile's unique id, as EC2 keeps it: a profile
deleted and made again under the same name is another profile). ``ordinal`` numbers instances in
the order they were made (bootstrap file first, in its order); the instance metadata service
serves instance ``n`` on ``--imds-port`` + ``n``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monban.store.models import Base


class Instance(Base):
    """One EC2 instance record."""

    __tablename__ = "ec2_instances"
    instance_id: Mapped[str] = mapped_column(String(19), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), index=True)
    ordinal: Mapped[int] = mapped_column(Integer, unique=True)
    reservation_id: Mapped[str] = mapped_column(String(19))
    region: Mapped[str] = mapped_column(String(32))
    availability_zone: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    launch_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    image_id: Mapped[str] = mapped_column(String(32))
    instance_type: Mapped[str] = mapped_column(String(32))
    vpc_id: Mapped[str] = mapped_column(String(32))
    subnet_id: Mapped[str] = mapped_column(String(32))
    private_ip: Mapped[str] = mapped_column(String(15))
    profile_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    association_id: Mapped[str | None] = mapped_column(String(32), nullable=True, unique=True)
    association_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    http_tokens: Mapped[str] = mapped_column(String(16), default="optional")
    http_endpoint: Mapped[str] = mapped_column(String(16), default="enabled")
    tags: Mapped[str] = mapped_column(Text, default="[]")
