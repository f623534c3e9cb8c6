"""Watching: a member's level for a topic, board or group (watching, tracking, normal,
muted), and whom a new post tells because of it.

No row means tracking (told of replies to me, mentions and quotes). The most specific
choice counts: a topic's over its board's over its group's, so muting a board and
watching one topic on it tells of that topic's posts only.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import bindparam
from sqlalchemy import or_
from sqlalchemy import select

from forum import policy
from forum.errors import Invalid
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.notifications import Watch
from forum.models.notifications import WatchLevel
from forum.models.notifications import WatchScope
from forum.models.topics import Topic
from forum.policy import Actor

DEFAULT = WatchLevel.TRACKING
LEVELS = tuple(level.value for level in WatchLevel)


def _target_id(actor: Actor, scope: WatchScope, key: Any) -> int:
    # Through the guards: a hidden topic, board or group is `NotFound`, as anywhere.
    if scope is WatchScope.TOPIC:
        return policy.require_topic(actor, int(key)).id
    if scope is WatchScope.BOARD:
        return policy.require_board(actor, int(key)).id
    return policy.require_group(actor, str(key)).id


def watch_level(actor: Actor, scope: WatchScope, key: Any) -> tuple[str, bool]:
    """The member's level for a topic (id), board (id) or group (slug), and whether they
    chose it (False: the default)."""
    policy.require_member(actor)
    return level_of_shown(actor, scope, _target_id(actor, scope, key))


# Built once: every member's topic, board and group page runs it, and building the
# statement cost more than running it.
_LEVEL = select(Watch.level).where(
    Watch.user_id == bindparam("user_id"),
    Watch.scope == bindparam("scope"),
    Watch.target_id == bindparam("target_id"),
)


def level_of_shown(actor: Actor, scope: WatchScope, target_id: int) -> tuple[str, bool]:
    """As `watch_level`, for a target the caller already holds through a policy guard
    (the page showing it): one lookup, the target not loaded again."""
    user_id = policy.require_member(actor)
    params = {"user_id": user_id, "scope": scope.value, "target_id": target_id}
    level = db.session.connection().execute(_LEVEL, params).scalar()
    return (str(level), True) if level is not None else (DEFAULT.value, False)


def set_watch_level(actor: Actor, scope: WatchScope, key: Any, level: Any) -> str:
    """Choose the member's level for a topic, board or group; the level set."""
    user_id = policy.require_member(actor)
    target_id = _target_id(actor, scope, key)
    if level not in LEVELS:
        raise Invalid("level", f"level must be one of: {', '.join(LEVELS)}.")
    row = db.session.scalar(
        select(Watch).where(
            Watch.user_id == user_id, Watch.scope == scope.value, Watch.target_id == target_id
        )
    )
    if row is None:
        row = Watch(user_id=user_id, scope=scope.value, target_id=target_id, level=level)
        db.session.add(row)
    row.level = level
    row.updated_at = utcnow()
    db.session.flush()
    return str(level)


def _conditions(topic: Topic) -> list[Any]:
    found = [
        (Watch.scope == WatchScope.TOPIC.value) & (Watch.target_id == topic.id),
        (Watch.scope == WatchScope.BOARD.value) & (Watch.target_id == topic.board_id),
    ]
    if topic.board.group_id is not None:
        found.append(
            (Watch.scope == WatchScope.GROUP.value) & (Watch.target_id == topic.board.group_id)
        )
    return found


_ORDER = {WatchScope.TOPIC.value: 0, WatchScope.BOARD.value: 1, WatchScope.GROUP.value: 2}


def levels_for(topic: Topic, user_ids: Collection[int]) -> dict[int, str]:
    """Each member's level for a topic (its board's or group's if none for the topic;
    tracking if none at all)."""
    levels = dict.fromkeys(user_ids, DEFAULT.value)
    if not user_ids:
        return levels
    rows = db.session.execute(
        select(Watch.user_id, Watch.scope, Watch.level).where(
            Watch.user_id.in_(sorted(user_ids)), or_(*_conditions(topic))
        )
    ).all()
    for user_id, _scope, level in sorted(rows, key=lambda row: _ORDER[row[1]], reverse=True):
        levels[user_id] = level
    return levels


def watchers(topic: Topic, *, new_topic: bool) -> list[int]:
    """Members whose level says a new post here tells them: watching the topic, or (a new
    topic) watching its board or group, with no more specific choice against it."""
    conditions = _conditions(topic)
    if not new_topic:
        conditions = conditions[:1]
    candidates = set(
        db.session.scalars(
            select(Watch.user_id).where(Watch.level == WatchLevel.WATCHING.value, or_(*conditions))
        )
    )
    levels = levels_for(topic, candidates)
    return sorted(u for u in candidates if levels[u] == WatchLevel.WATCHING.value)
