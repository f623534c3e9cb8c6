"""The moderation log: who did what to what, why and when.

Rows are written by `forum.audit.record` only; `Action` names every action a row can
hold (`forum.audit` re-exports it: the enum lives here so the model can check it).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey
from sqlalchemy import Index
from sqlalchemy import Integer
from sqlalchemy import String
from sqlalchemy import Text
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column
from sqlalchemy.orm import relationship
from sqlalchemy.orm import validates

from forum.extensions import db
from forum.models.base import UTCDateTime
from forum.models.base import utcnow
from forum.models.users import User


class Action(enum.StrEnum):
    """Every action the moderation log records (Discourse's `UserHistory.actions`).

    The value is what the `action` column stores: never rename one, old rows keep it. A
    name no longer written stays here, marked, so that its old rows still read (see
    `forum.moderation.sentences`, which has a sentence for each).
    """

    # Groups: creation, settings, roles, leaving and removal, break-glass.
    CREATE_GROUP = "create_group"
    GROUP_SETTINGS_CHANGED = "group_settings_changed"
    SET_ROLE = "set_role"
    REMOVE_MEMBER = "remove_member"
    LEAVE_GROUP = "leave_group"
    BREAK_GLASS = "break_glass"
    # Written until the group doors (schema 0010) made every arrival `member_joined`.
    ADD_MEMBER = "add_member"
    # The doors into a group: invitations, joining, requests, exclusions lifted.
    CREATE_INVITATION = "create_invitation"
    REVOKE_INVITATION = "revoke_invitation"
    INVITATIONS_REVOKED = "invitations_revoked"
    MEMBER_JOINED = "member_joined"
    MEMBER_ALLOWED_BACK = "member_allowed_back"
    JOIN_REQUEST_DECLINED = "join_request_declined"
    # Trust levels and site roles.
    TRUST_LEVEL_GRANTED = "trust_level_granted"
    GROUP_TRUST_LEVEL_GRANTED = "group_trust_level_granted"
    SITE_MODERATOR_APPOINTED = "site_moderator_appointed"
    SITE_MODERATOR_REMOVED = "site_moderator_removed"
    # Role labels ("Peer supporter"): given, changed or taken away (data: before, after).
    LABEL_SET = "label_set"
    LABEL_REMOVED = "label_removed"
    # An admin deleted a member's account on their request (data: posts removed or kept).
    ACCOUNT_DELETED = "account_deleted"
    # Reports and posts.
    REPORT_DISMISSED = "report_dismissed"
    POST_HIDDEN = "post_hidden"
    POST_HIDDEN_BY_COMMUNITY = "post_hidden_by_community"
    POST_UNHIDDEN = "post_unhidden"
    POST_DELETED = "post_deleted"
    POST_RESTORED = "post_restored"
    POST_APPROVED = "post_approved"
    POST_REJECTED = "post_rejected"
    REVISION_REDACTED = "revision_redacted"
    # Sanctions and appeals.
    MEMBER_SILENCED = "member_silenced"
    MEMBER_SUSPENDED = "member_suspended"
    MEMBER_AUTO_SILENCED = "member_auto_silenced"
    SANCTION_CONFIRMED = "sanction_confirmed"
    SANCTION_LIFTED = "sanction_lifted"
    APPEAL_GRANTED = "appeal_granted"
    APPEAL_DENIED = "appeal_denied"
    # Topics.
    TOPIC_LOCKED = "topic_locked"
    TOPIC_UNLOCKED = "topic_unlocked"
    TOPIC_PINNED = "topic_pinned"
    TOPIC_UNPINNED = "topic_unpinned"
    TOPIC_CLOSED = "topic_closed"
    TOPIC_OPENED = "topic_opened"
    TOPIC_MOVED = "topic_moved"
    SLOW_MODE_SET = "slow_mode_set"
    # Chat rooms.
    CHAT_ROOM_OPENED = "chat_room_opened"
    CHAT_ROOM_SETTINGS_CHANGED = "chat_room_settings_changed"
    CHAT_MESSAGE_HIDDEN = "chat_message_hidden"
    CHAT_REPORTS_DISMISSED = "chat_reports_dismissed"
    # Private messages: a report closed (data: decision "upheld"/"dismissed", the
    # author's id as "user"; never the message's words or the reporter).
    MESSAGE_REPORT_RESOLVED = "message_report_resolved"
    # An earlier row undone (its data names the row and its action).
    UNDO = "undo"


class ModerationLog(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "moderation_log"
    __table_args__ = (Index("ix_moderation_log_group_at", "group_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    action: Mapped[str] = mapped_column(String(40))
    target_type: Mapped[str] = mapped_column(String(20))
    target_id: Mapped[int] = mapped_column(Integer)
    # The scope the entry belongs to: a group's entries are seen only inside that group.
    group_id: Mapped[int | None] = mapped_column(
        ForeignKey("groups.id", ondelete="CASCADE"), default=None
    )
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # JSON: what an undo needs (e.g. the board a topic moved from). Never reporters' names.
    data: Mapped[str] = mapped_column(Text, default="{}", server_default="{}")
    # The actor's moderation rank in this scope when they acted (policy.moderation_rank):
    # only a moderator of the same or a higher rank may undo the action.
    actor_rank: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    undone_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )

    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])

    @validates("action")
    def _known_action(self, _key: str, value: str) -> str:
        # The column stays a string (old rows, no migration); a new row names an `Action`.
        return Action(value).value
