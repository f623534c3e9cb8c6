"""Trust levels: computed from what members do, granted by hand, explained to members.

Levels follow Discourse: 0 new member, 1 basic member, 2 member, 3 regular, 4 leader.
Levels 1-3 come automatically from activity (forum.activity records it) against the
thresholds in the site settings (forum.services.settings.NUMBER_SETTINGS); level 4 only
by hand. A level granted by hand can be locked: automatic recomputation leaves it alone.

Where this differs from Discourse, and why:

* "Posts read" and "time reading" are estimates from page views: without JavaScript the
  server sees only which pages of a topic a member opened (see forum.activity).
* Level 3 counts topics viewed as topics first opened in the window (not every view),
  and measures "25% of topics/posts" against those the member could read, so that a
  secret group a member is not in never counts against them.
* Level 3 caps are the issue's (250 topics, 2,000 posts; Discourse: 500 and 20,000), and
  Discourse's all-time minimums for level 3 and its per-user/per-day like diversity
  rules are left out: this forum is small, and its members are vouched for.
* "Never suspended" counts suspensions (site or group) running at any time in the
  window, except those overturned on appeal.
* Level 3 is kept while the member meets `tl3_keep_percent` (90%) of each "at least"
  requirement (Discourse's grace); nobody is demoted below level 2 automatically.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import distinct
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from forum import audit
from forum import policy
from forum import validation
from forum.audit import Action
from forum.errors import Denied
from forum.errors import Invalid
from forum.extensions import db
from forum.models.activity import PostLike
from forum.models.activity import TopicRead
from forum.models.activity import UserStats
from forum.models.activity import UserVisit
from forum.models.base import utcnow
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.moderation import Appeal
from forum.models.moderation import AppealState
from forum.models.moderation import Report
from forum.models.moderation import ReportStatus
from forum.models.moderation import Sanction
from forum.models.moderation import SanctionKind
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import Actor
from forum.services import notifications
from forum.services.settings import get_settings

LEVEL_NAMES: tuple[str, ...] = ("new member", "basic member", "member", "regular", "leader")
MAX_LEVEL = 4
# The highest level reached automatically; 4 is granted by hand only.
MAX_AUTOMATIC_LEVEL = 3
# The highest level a group owner may grant to their group's members.
MAX_OWNER_GRANT = 3
BATCH_SIZE = 500


@dataclass(frozen=True)
class Requirement:
    """One condition of a level: what is counted, the target, and the member's count."""

    key: str
    label: str
    target: int
    current: int = 0
    # True: the count must stay at or below the target (posts with upheld reports...).
    at_most: bool = False
    # True: the target is a share of what was written in the window (see the label).
    relative: bool = False

    @property
    def met(self) -> bool:
        """True if the member's count satisfies the requirement."""
        return self.current <= self.target if self.at_most else self.current >= self.target

    def as_dict(self) -> dict[str, Any]:
        """The requirement as JSON-able data (for the API and templates)."""
        return {
            "key": self.key,
            "label": self.label,
            "target": self.target,
            "current": self.current,
            "at_most": self.at_most,
            "relative": self.relative,
            "met": self.met,
        }


def level_name(level: int) -> str:
    """The plain name of a trust level ("member" for 2)."""
    return LEVEL_NAMES[level] if 0 <= level < len(LEVEL_NAMES) else str(level)


# --- what a member has done ---------------------------------------------------------


# Totals of the window's topics and posts, per set of readable groups: members who read
# the same boards share them during one `recompute_all`.
Totals = dict[frozenset[int], tuple[int, int]]


class _Facts:
    """A member's activity, each count queried only when a requirement needs it."""

    def __init__(self, user: User, now: datetime, settings: dict[str, Any], totals: Totals):
        self.user = user
        self.now = now
        self.window_days = int(settings["tl3_window_days"])
        self.start = now - timedelta(days=self.window_days)
        # Day rows: the window's days, today included.
        self.first_day = now.date() - timedelta(days=self.window_days - 1)
        self.totals = totals
        self._values: dict[str, int] = {}
        self._stats: UserStats | None = None
        self._stats_loaded = False

    def get(self, key: str) -> int:
        """The member's count for a requirement key (cached)."""
        if key not in self._values:
            compute: Callable[[], int] = getattr(self, f"_{key}")
            self._values[key] = int(compute() or 0)
        return self._values[key]

    def _stat(self, name: str) -> int:
        if not self._stats_loaded:
            self._stats = db.session.get(UserStats, self.user.id)
            self._stats_loaded = True
        return int(getattr(self._stats, name, 0) or 0)

    def _count(self, stmt: Any) -> int:
        return int(db.session.scalar(stmt) or 0)

    # All time (levels 1 and 2) -------------------------------------------------------

    def _topics_entered(self) -> int:
        return self._stat("topics_entered")

    def _posts_read(self) -> int:
        return self._stat("posts_read")

    def _minutes_read(self) -> int:
        return self._stat("seconds_read") // 60

    def _days_visited(self) -> int:
        return self._stat("days_visited")

    def _likes_given(self) -> int:
        return self._count(select(func.count()).where(PostLike.user_id == self.user.id))

    def _likes_received(self) -> int:
        return self._count(select(func.count()).where(PostLike.author_id == self.user.id))

    def _replied(self, since: datetime | None) -> int:
        # Topics the member answered: any post of theirs but a topic's first, not deleted.
        stmt = select(func.count(distinct(Post.topic_id))).where(
            Post.author_id == self.user.id, Post.number > 1, Post.deleted_at.is_(None)
        )
        if since is not None:
            stmt = stmt.where(Post.created_at >= since)
        return self._count(stmt)

    def _topics_replied(self) -> int:
        return self._replied(None)

    # The window (level 3) -------------------------------------------------------------

    def _recent_days_visited(self) -> int:
        return self._count(
            select(func.count()).where(
                UserVisit.user_id == self.user.id, UserVisit.day >= self.first_day
            )
        )

    def _recent_topics_replied(self) -> int:
        return self._replied(self.start)

    def _recent_topics_viewed(self) -> int:
        return self._count(
            select(func.count()).where(
                TopicRead.user_id == self.user.id, TopicRead.first_read_at >= self.start
            )
        )

    def _recent_posts_read(self) -> int:
        return self._count(
            select(func.sum(UserVisit.posts_read)).where(
                UserVisit.user_id == self.user.id, UserVisit.day >= self.first_day
            )
        )

    def _recent_likes_given(self) -> int:
        return self._count(
            select(func.count()).where(
                PostLike.user_id == self.user.id, PostLike.created_at >= self.start
            )
        )

    def _recent_likes_received(self) -> int:
        return self._count(
            select(func.count()).where(
                PostLike.author_id == self.user.id, PostLike.created_at >= self.start
            )
        )

    def _flagged_posts(self) -> int:
        return self._count(
            select(func.count(distinct(Report.post_id)))
            .join(Post, Post.id == Report.post_id)
            .where(
                Post.author_id == self.user.id,
                Report.status == ReportStatus.UPHELD,
                Report.created_at >= self.start,
            )
        )

    def _suspensions(self) -> int:
        overturned = select(Appeal.target_id).where(
            Appeal.target_type == "sanction", Appeal.state == AppealState.GRANTED
        )
        return self._count(
            select(func.count()).where(
                Sanction.user_id == self.user.id,
                Sanction.kind == SanctionKind.SUSPEND,
                Sanction.starts_at <= self.now,
                # Running at some time in the window: it ended (or was lifted) after its start.
                or_(Sanction.ends_at.is_(None), Sanction.ends_at >= self.start),
                or_(Sanction.lifted_at.is_(None), Sanction.lifted_at >= self.start),
                Sanction.id.not_in(overturned),
            )
        )

    def window_totals(self) -> tuple[int, int]:
        """Topics and posts started in the window on boards the member can read."""
        actor = policy.actor_for(self.user, guests_read=False, now=self.now)
        key = actor.readable_group_ids
        if key not in self.totals:
            topics = self._count(
                policy.visible_topics(actor)
                .where(Topic.created_at >= self.start)
                .with_only_columns(func.count(Topic.id))
            )
            posts = self._count(
                policy.visible_posts(actor)
                .where(Post.created_at >= self.start, Post.deleted_at.is_(None))
                .with_only_columns(func.count(Post.id))
            )
            self.totals[key] = (topics, posts)
        return self.totals[key]


# --- what each level needs ----------------------------------------------------------


# Targets that need two counts over the window (see `_Facts.window_totals`).
_SHARE_KEYS = frozenset({"recent_topics_viewed", "recent_posts_read"})


def _share(percent: int, total: int, cap: int) -> int:
    return min(math.ceil(percent * total / 100), cap)


def _requirements_for(
    level: int, settings: dict[str, Any], facts: _Facts | None, *, keep: bool = False
) -> list[Requirement]:
    """The requirements of a level; with facts, the member's counts (and real targets)."""
    s = settings
    found: list[tuple[str, str, int, bool]] = []
    if level in (1, 2):
        p = f"tl{level}_"
        found += [
            ("topics_entered", "Topics entered (opened to read)", s[p + "topics_entered"], False),
            ("posts_read", "Posts read", s[p + "posts_read"], False),
            ("minutes_read", "Minutes spent reading", s[p + "minutes_read"], False),
        ]
    if level == 2:
        found += [
            ("days_visited", "Days visited", s["tl2_days_visited"], False),
            ("likes_given", "Likes given", s["tl2_likes_given"], False),
            ("likes_received", "Likes received", s["tl2_likes_received"], False),
            ("topics_replied", "Different topics replied to", s["tl2_topics_replied"], False),
        ]
    if level == 3:
        days = s["tl3_window_days"]
        last = f"in the last {days} days"
        topics_target = s["tl3_topics_viewed_max"]
        posts_target = s["tl3_posts_read_max"]
        if facts is not None:
            topics, posts = facts.window_totals()
            topics_target = _share(s["tl3_topics_viewed_percent"], topics, topics_target)
            posts_target = _share(s["tl3_posts_read_percent"], posts, posts_target)
        found += [
            ("recent_days_visited", f"Days visited {last}", s["tl3_days_visited"], False),
            (
                "recent_topics_replied",
                f"Different topics replied to {last}",
                s["tl3_topics_replied"],
                False,
            ),
            (
                "recent_topics_viewed",
                f"Topics viewed {last} ({s['tl3_topics_viewed_percent']}% of the topics "
                f"started then that you can read, but never more than "
                f"{s['tl3_topics_viewed_max']:,})",
                topics_target,
                False,
            ),
            (
                "recent_posts_read",
                f"Posts read {last} ({s['tl3_posts_read_percent']}% of the posts written "
                f"then that you can read, but never more than {s['tl3_posts_read_max']:,})",
                posts_target,
                False,
            ),
            ("recent_likes_given", f"Likes given {last}", s["tl3_likes_given"], False),
            ("recent_likes_received", f"Likes received {last}", s["tl3_likes_received"], False),
            (
                "flagged_posts",
                f"Your posts that moderators agreed broke the rules after reports, {last}",
                s["tl3_max_flagged_posts"],
                True,
            ),
            ("suspensions", f"Suspensions {last}", 0, True),
        ]
    result = []
    for key, label, target, at_most in found:
        goal = int(target)
        if keep and not at_most:
            # Kept while at or above tl3_keep_percent of each target (whole numbers).
            goal = math.ceil(goal * int(s["tl3_keep_percent"]) / 100)
        current = facts.get(key) if facts is not None else 0
        result.append(Requirement(key, label, goal, current, at_most, key in _SHARE_KEYS))
    return result


def requirements(settings: dict[str, Any]) -> dict[int, list[Requirement]]:
    """What levels 1, 2 and 3 need under these settings (targets only, for the help page)."""
    return {level: _requirements_for(level, settings, None) for level in (1, 2, 3)}


def _meets(level: int, facts: _Facts, settings: dict[str, Any], *, keep: bool = False) -> bool:
    # One requirement at a time, stopping at the first unmet: a member far from a level
    # costs a query or two. The shares of the window's topics and posts come last.
    for plain in _requirements_for(level, settings, None, keep=keep):
        if plain.key in _SHARE_KEYS:
            continue
        if not Requirement(plain.key, "", plain.target, facts.get(plain.key), plain.at_most).met:
            return False
    return all(r.met for r in _requirements_for(level, settings, facts, keep=keep))


def _compute(user: User, now: datetime, settings: dict[str, Any], totals: Totals) -> int:
    level = user.trust_level
    if user.trust_level_locked or level >= MAX_LEVEL:
        return level
    facts = _Facts(user, now, settings, totals)
    if level == MAX_AUTOMATIC_LEVEL:
        return level if _meets(3, facts, settings, keep=True) else 2
    # Each level's own requirements in turn: nobody skips a check on the way up, but a
    # member who meets level 2 already goes from 0 to 2 at once.
    for candidate in range(level + 1, MAX_AUTOMATIC_LEVEL + 1):
        if not _meets(candidate, facts, settings):
            break
        level = candidate
    return level


def compute_level(user: User, now: datetime | None = None) -> int:
    """The level the member's activity earns now (their own level if it is locked or 4)."""
    return _compute(user, now or utcnow(), get_settings(), {})


def _notify_change(user: User, old: int, new: int, settings: dict[str, Any]) -> None:
    if new > old:
        text = (
            f"You are now trust level {new} ({level_name(new)}). "
            "The trust levels page says what this lets you do."
        )
    else:
        text = (
            f"Your trust level is now {new} ({level_name(new)}): over the last "
            f"{settings['tl3_window_days']} days your activity fell below what level {old} "
            "needs. The trust levels page shows what it takes to reach it again."
        )
    notifications.notify(user.id, "trust_level", text)


def _recompute(user: User, now: datetime, settings: dict[str, Any], totals: Totals) -> int | None:
    old = user.trust_level
    new = _compute(user, now, settings, totals)
    if new == old:
        return None
    user.trust_level = new
    db.session.flush()
    _notify_change(user, old, new, settings)
    return new


def recompute_member(user: User, now: datetime | None = None) -> int | None:
    """Bring the member's level up to date; the new level if it changed, else None."""
    return _recompute(user, now or utcnow(), get_settings(), {})


def recompute_all(
    now: datetime | None = None,
    *,
    after_batch: Callable[[], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> dict[str, int]:
    """Recompute every member whose level is automatic, in batches (the daily job).

    `after_batch` runs after each batch: the CLI commits there, so that no single
    transaction holds SQLite's write lock for the whole run.
    """
    now = now or utcnow()
    settings = get_settings()
    totals: Totals = {}
    counts = {"checked": 0, "promoted": 0, "demoted": 0}
    last_id = 0
    while True:
        batch = list(
            db.session.scalars(
                select(User)
                .where(
                    User.id > last_id,
                    User.trust_level_locked.is_(False),
                    User.trust_level < MAX_LEVEL,
                )
                .order_by(User.id)
                .limit(batch_size)
            )
        )
        if not batch:
            return counts
        for user in batch:
            old = user.trust_level
            new = _recompute(user, now, settings, totals)
            counts["checked"] += 1
            if new is not None:
                counts["promoted" if new > old else "demoted"] += 1
        last_id = batch[-1].id
        if after_batch is not None:
            after_batch()


# --- what a member sees about their own level ---------------------------------------


def _group_levels(user: User) -> list[dict[str, Any]]:
    rows = db.session.execute(
        select(Group.slug, Group.name, Membership.trust_level)
        .join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user.id, Membership.trust_level.is_not(None))
        .order_by(Group.name, Group.id)
    )
    return [
        {"group": slug, "group_name": name, "level": level, "name": level_name(level)}
        for slug, name, level in rows
        if level is not None
    ]


def progress(user: User, now: datetime | None = None) -> dict[str, Any]:
    """The member's level and, for the next level (or for keeping level 3), each
    requirement with their current count and the target."""
    now = now or utcnow()
    settings = get_settings()
    level = user.trust_level
    answer: dict[str, Any] = {
        "level": level,
        "name": level_name(level),
        "locked": user.trust_level_locked,
        "next_level": None,
        "next_name": None,
        "keeping": False,
        "window_days": settings["tl3_window_days"],
        "requirements": [],
        "met": True,
        # Levels the member's groups granted them (the member knows their own groups).
        "group_levels": _group_levels(user),
    }
    if user.trust_level_locked or level >= MAX_AUTOMATIC_LEVEL + 1:
        return answer
    facts = _Facts(user, now, settings, {})
    if level == MAX_AUTOMATIC_LEVEL:
        found = _requirements_for(3, settings, facts, keep=True)
        answer["keeping"] = True
    else:
        found = _requirements_for(level + 1, settings, facts)
        answer["next_level"] = level + 1
        answer["next_name"] = level_name(level + 1)
    answer["requirements"] = [r.as_dict() for r in found]
    answer["met"] = all(r.met for r in found)
    return answer


# --- granting by hand ----------------------------------------------------------------


def grant_level(
    actor: Actor,
    user: User,
    *,
    level: Any,
    lock: Any = False,
    group: Group | None = None,
    reason: Any = "",
) -> bool:
    """Set a member's trust level by hand, logged and told to them; True if it changed.

    Without `group`: the site level, locked or not (admins only). With `group`: a level
    that counts on that group's boards only (its owners; admins where they manage the
    group), 1-3, or 0 to take the grant back; it never touches the site level, and
    `lock` does not apply (a grant is never recomputed).
    """
    policy.check_grant_trust(actor, user, group)
    if group is None:
        return _grant_site_level(actor, user, level=level, lock=lock, reason=reason)
    return _grant_group_level(actor, user, group, level=level, reason=reason)


def _grant_site_level(actor: Actor, user: User, *, level: Any, lock: Any, reason: Any) -> bool:
    new_level = validation.integer(level, "level", minimum=0, maximum=MAX_LEVEL)
    locked = validation.boolean(lock, "lock")
    why = validation.text(reason, "reason", max_len=validation.REASON_MAX, label="Reason")
    if user.trust_level == new_level and user.trust_level_locked == locked:
        return False
    before = {"level": user.trust_level, "locked": user.trust_level_locked}
    user.trust_level = new_level
    user.trust_level_locked = locked
    db.session.flush()
    audit.record(
        actor,
        Action.TRUST_LEVEL_GRANTED,
        rank=policy.moderation_rank(actor, None),
        target_type="user",
        target_id=user.id,
        group=None,
        reason=why,
        data={"before": before, "after": {"level": new_level, "locked": locked}},
    )
    if before["level"] != new_level:
        notifications.notify(
            user.id,
            "trust_level",
            f"Your trust level was set by hand to {new_level} ({level_name(new_level)}).",
        )
    return True


def group_level(user: User, group: Group) -> int | None:
    """The level the group's owners granted the member there (None: no grant)."""
    return db.session.scalar(
        select(Membership.trust_level).where(
            Membership.group_id == group.id, Membership.user_id == user.id
        )
    )


def _grant_group_level(actor: Actor, user: User, group: Group, *, level: Any, reason: Any) -> bool:
    if level is None or level == "":
        level = 0
    new_level = validation.integer(level, "level", minimum=0, maximum=MAX_LEVEL)
    if new_level > MAX_OWNER_GRANT:
        raise Invalid(
            "level", f"Inside a group, levels go up to {MAX_OWNER_GRANT}; site admins grant 4."
        )
    why = validation.text(reason, "reason", max_len=validation.REASON_MAX, label="Reason")
    membership = db.session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == user.id)
    )
    if membership is None:  # pragma: no cover - can_grant_trust has just checked
        raise Denied("Only the group's owners grant trust levels inside it, to its members.")
    # 0 is no grant: inside the group the member's own (site) level applies, as anywhere.
    granted = new_level or None
    if membership.trust_level == granted:
        return False
    before = membership.trust_level
    membership.trust_level = granted
    membership.trust_granted_by_id = (actor.user_id or None) if granted else None
    membership.trust_granted_at = utcnow() if granted else None
    # The flush retires the member's cached group facts (models.groups), so the grant
    # applies from their very next request in every worker.
    db.session.flush()
    audit.record(
        actor,
        Action.GROUP_TRUST_LEVEL_GRANTED,
        rank=policy.moderation_rank(actor, group),
        target_type="user",
        target_id=user.id,
        group=group,
        reason=why,
        data={"before": {"level": before}, "after": {"level": granted}},
    )
    # Only the member is told, and the notification shows only while they are in the
    # group (policy.visible_notifications): the group's name reaches nobody else.
    if granted is not None:
        text = (
            f"In the group {group.name}, your trust level is now {granted} "
            f"({level_name(granted)}). It counts on that group's boards only; "
            "your trust level everywhere else is unchanged."
        )
    else:
        text = (
            f"In the group {group.name}, the trust level granted to you there was taken "
            f"back: on its boards your own trust level ({user.trust_level}, "
            f"{level_name(user.trust_level)}) applies, as everywhere."
        )
    notifications.notify(user.id, "trust_level", text, group_id=group.id)
    return True
