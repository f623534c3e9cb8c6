"""The moderation log as its pages read it: entries in the reader's scope, newest first.

Rows are written by `forum.audit.record` (the one writer) and undone by
`forum.moderation.undo`; `undo` and `UNDOABLE` are named here too, for the log's views.
"""

from __future__ import annotations

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from forum import policy
from forum.extensions import db
from forum.listings import Page
from forum.listings import _paged
from forum.models.modlog import ModerationLog
from forum.moderation.undo import UNDOABLE
from forum.moderation.undo import undo
from forum.policy import Actor

__all__ = ["UNDOABLE", "entries", "undo"]


def entries(actor: Actor, *, page: int = 1, per_page: int = 50) -> Page[ModerationLog]:
    """Log entries the actor may see, newest first."""
    scope = policy.visible_log_entries(actor)
    total = int(db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0)
    stmt = scope.options(joinedload(ModerationLog.actor)).order_by(
        ModerationLog.created_at.desc(), ModerationLog.id.desc()
    )
    return _paged(stmt, total, page, per_page)
