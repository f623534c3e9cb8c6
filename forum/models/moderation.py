"""Reports (one case per post, one flag per reporting member), sanctions and appeals."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum
from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow
from forum.models.posts import Post
from forum.models.users import User


def _enum(kind: type[enum.StrEnum], name: str) -> Enum:
    # Plain strings with a CHECK constraint, as in forum.models.groups.
    return Enum(
        kind,
        name=name,
        native_enum=False,
        length=16,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


class FlagReason(enum.StrEnum):
    SPAM = "spam"
    ABUSE = "abuse"
    OFF_TOPIC = "off_topic"
    ILLEGAL = "illegal"
    OTHER = "other"


class ReportStatus(enum.StrEnum):
    OPEN = "open"
    # A moderator acted on the post (hid, deleted, sanctioned its author...).
    UPHELD = "upheld"
    DISMISSED = "dismissed"


class Report(db.Model):  # type: ignore[name-defined,misc]
    """A case about one post: opened by the first flag, closed by one moderator decision.

    A post has at most one open report at a time; the flags that members raise gather
    under it, so the queue shows each post once with every reason.
    """

    __tablename__ = "reports"
    __table_args__ = (Index("ix_reports_status_group", "status", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    # Copied from the post's board when the case opens: the queue and the log are scoped
    # by it without joining through topics and boards (kept in step when a topic moves).
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    status: Mapped[ReportStatus] = mapped_column(
        _enum(ReportStatus, "report_status"), default=ReportStatus.OPEN
    )
    # Sum of the flags' weights (see forum.moderation.reports.flag_weight).
    score: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    # What the moderator did ("dismiss", "hide_post", ...) and why.
    resolution: Mapped[str] = mapped_column(String(24), default="")
    resolution_reason: Mapped[str] = mapped_column(Text, default="")

    post: Mapped[Post] = relationship()
    flags: Mapped[list[Flag]] = relationship(back_populates="report", order_by="Flag.id")


class Flag(db.Model):  # type: ignore[name-defined,misc]
    """One member's report of one post. A member flags a post once, ever."""

    __tablename__ = "flags"
    __table_args__ = (UniqueConstraint("post_id", "reporter_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    reason: Mapped[FlagReason] = mapped_column(_enum(FlagReason, "flag_reason"))
    note: Mapped[str] = mapped_column(Text, default="")
    # The weight this flag added to its report's score (recomputed on update).
    weight: Mapped[int] = mapped_column(Integer, default=1)
    # The reporter's trust level in the post's scope when they reported (what the weight
    # was based on; shown to moderators instead of a name). A level granted inside a
    # group counts for that group's posts only.
    trust_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    report: Mapped[Report] = relationship(back_populates="flags")
    reporter: Mapped[User] = relationship(lazy="joined", innerjoin=True)


class SanctionKind(enum.StrEnum):
    SILENCE = "silence"  # can read, cannot write
    SUSPEND = "suspend"  # cannot log in (in a group: loses the group for the time)


class SanctionState(enum.StrEnum):
    ACTIVE = "active"
    # Longer than 7 days or permanent: runs for 7 days until a second moderator confirms.
    UNCONFIRMED = "unconfirmed"
    LIFTED = "lifted"


class Sanction(db.Model):  # type: ignore[name-defined,misc]
    """A silence or suspension, site-wide (group_id NULL) or inside one group.

    The effective end is mirrored into `User.silenced_until`/`suspended_until` (site) or
    `Membership.silenced_until`/`suspended_until` (group), which every request reads;
    these rows are the history, the reasons shown to the member and what appeals target.
    """

    __tablename__ = "sanctions"
    __table_args__ = (Index("ix_sanctions_user", "user_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    kind: Mapped[SanctionKind] = mapped_column(_enum(SanctionKind, "sanction_kind"))
    state: Mapped[SanctionState] = mapped_column(
        _enum(SanctionState, "sanction_state"), default=SanctionState.ACTIVE
    )
    reason: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # None: until lifted (a permanent ban, or an automatic silence awaiting review).
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # What was asked for, when that needs a second moderator's confirmation.
    requested_days: Mapped[int | None] = mapped_column(Integer, default=None)
    # None: the community's automatic defence (spam flags on a new member's posts).
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    lifted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    report_id: Mapped[int | None] = mapped_column(
        ForeignKey("reports.id", ondelete="SET NULL"), default=None
    )

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)


class AppealState(enum.StrEnum):
    OPEN = "open"
    GRANTED = "granted"
    DENIED = "denied"


class Appeal(db.Model):  # type: ignore[name-defined,misc]
    """A member's one appeal against an action taken on them (a hidden post, a sanction).

    Decided by a moderator in scope other than the one who took the action.
    """

    __tablename__ = "appeals"
    __table_args__ = (UniqueConstraint("target_type", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # "post" (hidden) or "sanction".
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[int] = mapped_column(Integer)
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    # Who took the action appealed against: they may not decide the appeal.
    acted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    text: Mapped[str] = mapped_column(Text)
    state: Mapped[AppealState] = mapped_column(
        _enum(AppealState, "appeal_state"), default=AppealState.OPEN
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decided_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    decision_reason: Mapped[str] = mapped_column(Text, default="")

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined", innerjoin=True)
