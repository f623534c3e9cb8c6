"""Site settings an admin changes at run time (stored as JSON values by key)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column

from forum.extensions import db


class SiteSetting(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "site_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
