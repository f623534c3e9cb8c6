"""Members' reports, the community's automatic defences, and the moderators' review queue.

A post has at most one open case (`Report`); each member's report of it is a `Flag`
(once per member per post, ever). Flags add their weight to the case's score; a score
at the hide threshold hides the post at once, pending a moderator's review.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import String
from sqlalchemy import and_
from sqlalchemy import distinct
from sqlalchemy import func
from sqlalchemy import literal
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import union_all
from sqlalchemy.orm import joinedload
from sqlalchemy.orm import selectinload

from forum import audit
from forum import policy
from forum import validation
from forum.audit import Action
from forum.audit import clean_reason
from forum.audit import group_of
from forum.errors import Conflict
from forum.errors import NotFound
from forum.errors import NotLoggedIn
from forum.errors import RateLimited
from forum.extensions import db
from forum.listings import Page
from forum.listings import _paged
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.moderation import Appeal
from forum.models.moderation import AppealState
from forum.models.moderation import Flag
from forum.models.moderation import FlagReason
from forum.models.moderation import Report
from forum.models.moderation import ReportStatus
from forum.models.moderation import Sanction
from forum.models.moderation import SanctionKind
from forum.models.moderation import SanctionState
from forum.models.posts import HiddenKind
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.moderation import actions
from forum.moderation import sanctions
from forum.policy import Actor
from forum.services import settings as site_settings
from forum.services.notifications import notify

REASONS: tuple[str, ...] = tuple(reason.value for reason in FlagReason)
ACTIONS: tuple[str, ...] = ("dismiss", "hide_post", "delete_post", "silence_user", "suspend_user")
STATUSES: tuple[str, ...] = tuple(status.value for status in ReportStatus)
NOTE_MAX = 1000

# Fallbacks while (or if) the site settings do not define these keys.
REPORTS_PER_HOUR = 10
HIDE_THRESHOLD = 8
# Spam flags from this many different members silence a trust-level-0 author.
AUTO_SILENCE_REPORTERS = 3
MODERATOR_WEIGHT = 5
# A reporter's record counts once they have more handled flags than this.
RECORD_AFTER = 5

COMMUNITY_HIDE_REASON = "Hidden after reports from members, pending a moderator's review."

DEFAULT_REASONS = {
    "dismiss": "Reviewed: no action needed.",
    "hide_post": "Hidden by a moderator after members reported it.",
    "delete_post": "Removed by a moderator after members reported it.",
    "silence_user": "Silenced by a moderator after members reported a post.",
    "suspend_user": "Suspended by a moderator after members reported a post.",
}


def _setting(key: str, fallback: int) -> int:
    value = site_settings.get_settings().get(key, fallback)
    return value if isinstance(value, int) and not isinstance(value, bool) else fallback


# --- weights --------------------------------------------------------------------


def reporter_record(user_id: int) -> tuple[int, int]:
    """(upheld, dismissed): how the member's handled flags were decided."""
    counts = dict(
        db.session.execute(
            select(Report.status, func.count(Flag.id))
            .join(Report, Report.id == Flag.report_id)
            .where(Flag.reporter_id == user_id, Report.status != ReportStatus.OPEN)
            .group_by(Report.status)
        ).all()
    )
    return int(counts.get(ReportStatus.UPHELD, 0)), int(counts.get(ReportStatus.DISMISSED, 0))


def flag_weight(user: User, group: Group | None = None) -> int:
    """How much a member's flag adds to a case's score.

    base = 1 + trust level in the post's scope (a level granted inside a group counts
    there only); moderators of the scope (site moderators, admins, the group's moderators
    and owners) 5. Once the member has more than 5 handled flags their record scales it:
    weight = round(base * upheld / (upheld + dismissed)), never below 0, so a member whose
    reports are mostly dismissed loses their say.
    """
    if policy.member_rank(user, group) > policy.RANK_NONE:
        base = MODERATOR_WEIGHT
    else:
        base = 1 + max(0, policy.member_trust_level(user, group))
    upheld, dismissed = reporter_record(user.id)
    handled = upheld + dismissed
    if handled <= RECORD_AFTER:
        return base
    return max(0, round(base * upheld / handled))


# --- reporting --------------------------------------------------------------------


def _check_rate(reporter_id: int) -> None:
    # A posting cap, not a request throttle: it stays on whatever FORUM_RATELIMITS says.
    limit = _setting("reports_per_hour", REPORTS_PER_HOUR)
    now = utcnow()
    since = now - timedelta(hours=1)
    count, oldest = db.session.execute(
        select(func.count(Flag.id), func.min(Flag.created_at)).where(
            Flag.reporter_id == reporter_id, Flag.created_at > since
        )
    ).one()
    if count >= limit:
        wait = (oldest + timedelta(hours=1) - now).total_seconds() if oldest else 3600
        raise RateLimited(
            f"You can report at most {limit} posts an hour. Please wait a while.",
            retry_after=max(1, math.ceil(wait)),
        )


def report_post(actor: Actor, post: Post, *, reason: Any, note: Any = "") -> Report:
    """Report a post (once per member; reporting again while the case is open updates it)."""
    return report_post_with_outcome(actor, post, reason=reason, note=note)[0]


def report_post_with_outcome(
    actor: Actor, post: Post, *, reason: Any, note: Any = ""
) -> tuple[Report, bool]:
    """`report_post`, also saying whether a new flag was made (False: one was updated)."""
    policy.check_report_post(actor, post)
    clean_reason_value = FlagReason(validation.choice(reason, "reason", REASONS))
    clean_note = validation.text(note, "note", max_len=NOTE_MAX)
    reporter_id = policy.require_member(actor)
    reporter = db.session.get(User, reporter_id)
    if reporter is None:
        raise NotLoggedIn()
    board = post.topic.board
    group = board.group
    # One case per post: concurrent first reports wait for each other (PostgreSQL).
    db.session.execute(select(Post.id).where(Post.id == post.id).with_for_update())
    now = utcnow()
    flag: Flag | None = db.session.scalar(
        select(Flag).where(Flag.post_id == post.id, Flag.reporter_id == reporter_id)
    )
    created = flag is None
    if flag is not None:
        report = flag.report
        if report.status != ReportStatus.OPEN:
            raise Conflict("You reported this post already; a moderator has dealt with it.")
        flag.reason = clean_reason_value
        flag.note = clean_note
        flag.weight = flag_weight(reporter, group)
        flag.trust_level = policy.member_trust_level(reporter, group)
        flag.updated_at = now
    else:
        _check_rate(reporter_id)
        found = actions.open_case(post)
        if found is None:
            found = Report(post_id=post.id, group_id=board.group_id, created_at=now, score=0)
            db.session.add(found)
            db.session.flush()
        report = found
        flag = Flag(
            report_id=report.id,
            post_id=post.id,
            reporter_id=reporter_id,
            reason=clean_reason_value,
            note=clean_note,
            weight=flag_weight(reporter, group),
            trust_level=policy.member_trust_level(reporter, group),
            created_at=now,
            updated_at=now,
        )
        db.session.add(flag)
    db.session.flush()
    report.score = int(
        db.session.scalar(
            select(func.coalesce(func.sum(Flag.weight), 0)).where(Flag.report_id == report.id)
        )
        or 0
    )
    db.session.flush()
    _defend(reporter, flag, report, post, group)
    return report, created


def _defend(reporter: User, flag: Flag, report: Report, post: Post, group: Group | None) -> None:
    """The community's defences with no moderator online: auto-hide, auto-silence.

    Both the reporter's and the author's levels are those in the post's scope: a level
    a group's owners granted counts on that group's posts only, so owners can neither
    arm sockpuppets against the rest of the site nor expose a member to these defences
    outside their group.
    """
    author = post.author
    # Members' reports never hide a moderator's (or an admin's) post, nor silence them.
    if policy.member_rank(author, group) > policy.RANK_NONE:
        return
    spam = flag.reason == FlagReason.SPAM
    newcomer = policy.member_trust_level(author, group) == 0
    trusted_spotter = (
        flag.trust_level >= 3 or policy.member_rank(reporter, group) > policy.RANK_NONE
    )
    if (
        not post.is_hidden
        and not post.is_deleted
        and (
            report.score >= _setting("hide_threshold", HIDE_THRESHOLD)
            or (spam and trusted_spotter and newcomer)
        )
    ):
        _community_hide(report, post, group)
    if spam and newcomer:
        _maybe_auto_silence(author, report, group)


def _community_hide(report: Report, post: Post, group: Group | None) -> None:
    actions.apply_hide(post, kind=HiddenKind.COMMUNITY, reason=COMMUNITY_HIDE_REASON, by_id=None)
    audit.record(
        policy.SYSTEM,
        Action.POST_HIDDEN_BY_COMMUNITY,
        rank=policy.moderation_rank(policy.SYSTEM, group),
        target_type="post",
        target_id=post.id,
        group=group,
        reason=COMMUNITY_HIDE_REASON,
        data={"report": report.id, "score": report.score},
    )
    notify(
        post.author_id,
        "post_hidden",
        "Members reported your post and it is hidden until a moderator reviews it. "
        "You can edit it to ask for another review.",
        post_id=post.id,
        group_id=post.topic.board.group_id,
    )
    db.session.flush()


def _maybe_auto_silence(author: User, report: Report, group: Group | None) -> None:
    group_id = group.id if group is not None else None
    scope = Report.group_id.is_(None) if group_id is None else Report.group_id == group_id
    # Spam flags count from the last time a moderator lifted an automatic silence here:
    # after a review, only new reports can silence the member again.
    reviewed_at = db.session.scalar(
        select(func.max(Sanction.lifted_at)).where(
            Sanction.user_id == author.id,
            Sanction.group_id.is_(None) if group_id is None else Sanction.group_id == group_id,
            Sanction.kind == SanctionKind.SILENCE,
            Sanction.created_by_id.is_(None),
            Sanction.state == SanctionState.LIFTED,
        )
    )
    stmt = (
        select(func.count(distinct(Flag.reporter_id)))
        .join(Report, Report.id == Flag.report_id)
        .join(Post, Post.id == Flag.post_id)
        .where(
            Post.author_id == author.id,
            Flag.reason == FlagReason.SPAM,
            Report.status != ReportStatus.DISMISSED,
            scope,
        )
    )
    if reviewed_at is not None:
        stmt = stmt.where(Flag.updated_at > reviewed_at)
    if int(db.session.scalar(stmt) or 0) >= AUTO_SILENCE_REPORTERS:
        sanctions.auto_silence(author, group, report=report)


# --- decisions --------------------------------------------------------------------


def resolve_report(
    actor: Actor, report: Report, *, action: Any, reason: Any = "", days: Any = None
) -> Report:
    """Decide a case: dismiss it, or uphold it by hiding or deleting the post, or
    silencing or suspending its author; the reporters hear that it was handled."""
    policy.require_member(actor)
    clean_action = validation.choice(action, "action", ACTIONS)
    group = group_of(report.group_id)
    policy.check_resolve_report(actor, report, group)
    post = report.post
    clean = clean_reason(reason, required=False) or DEFAULT_REASONS[clean_action]
    if clean_action == "dismiss":
        actions.require_moderator(actor, post.topic.board)
        unhid = post.hidden_kind == HiddenKind.COMMUNITY
        hidden = actions.hidden_state(post)
        if unhid:
            actions.apply_unhide(post)
            notify(
                post.author_id,
                "post_unhidden",
                "A moderator reviewed your post and it shows again.",
                post_id=post.id,
                group_id=report.group_id,
            )
        actions.close_case(
            actor, report, status=ReportStatus.DISMISSED, resolution="dismiss", reason=clean
        )
        audit.record(
            actor,
            Action.REPORT_DISMISSED,
            rank=policy.moderation_rank(actor, group),
            target_type="report",
            target_id=report.id,
            group=group,
            reason=clean,
            data={"post": post.id, "unhid": unhid, "hidden": hidden},
        )
    elif clean_action == "hide_post":
        actions.hide_post(actor, post, reason=clean)
    elif clean_action == "delete_post":
        actions.delete_post(actor, post, reason=clean)
    else:
        sanction = (
            sanctions.silence_member if clean_action == "silence_user" else sanctions.suspend_member
        )
        sanction(actor, post.author, group=group, days=days, reason=clean, report=report)
        if post.hidden_kind == HiddenKind.COMMUNITY:
            # Upheld: the members' hide becomes the moderator's.
            actions.apply_hide(post, kind=HiddenKind.MODERATORS, reason=clean, by_id=actor.user_id)
    actions.close_case(
        actor, report, status=ReportStatus.UPHELD, resolution=clean_action, reason=clean
    )
    db.session.flush()
    return report


# --- lists ------------------------------------------------------------------------


def open_reports(
    actor: Actor, *, status: Any = "open", page: int = 1, per_page: int = 50
) -> Page[Report]:
    """Cases in the actor's scope with a status (open ones oldest first, others newest)."""
    policy.require_moderator(actor)
    clean_status = ReportStatus(validation.choice(status, "status", STATUSES))
    scope = policy.visible_reports(actor).where(Report.status == clean_status)
    total = int(db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0)
    order = (
        (Report.created_at, Report.id)
        if clean_status == ReportStatus.OPEN
        else (Report.resolved_at.desc(), Report.id.desc())
    )
    stmt = scope.options(joinedload(Report.post), selectinload(Report.flags)).order_by(*order)
    return _paged(stmt, total, page, per_page)


@dataclass
class QueueItem:
    """One thing waiting for a moderator, with what they need to decide it."""

    # "report" | "review" | "approval" | "sanction" | "appeal"
    kind: str
    # The Report, Post, Sanction or Appeal itself.
    obj: Report | Post | Sanction | Appeal
    created_at: datetime
    post: Post | None = None
    topic: Topic | None = None
    board: Board | None = None
    # For a sanction, or an appeal against one.
    sanction: Sanction | None = None
    # Whom it is about: the post's author, the sanctioned or appealing member.
    member: User | None = None
    # (reason, note, the reporter's trust level) per flag of an open case. Never the
    # reporters' names: peer moderators know the members, and a reporter may be known
    # only inside a secret group.
    reasons: list[tuple[FlagReason, str, int]] = field(default_factory=list)
    score: int = 0
    # The member's history in this scope: earlier hidden posts, sanctions.
    hidden_posts: int = 0
    sanctions: int = 0
    # The post author's trust level in the item's scope (a group's grant counts there).
    author_trust_level: int = 0

    @property
    def group_id(self) -> int | None:
        """The scope the item belongs to."""
        if self.board is not None:
            return self.board.group_id
        if self.sanction is not None:
            return self.sanction.group_id
        return getattr(self.obj, "group_id", None)


def _moderated_board_ids(actor: Actor) -> list[int]:
    return [
        board.id
        for board in db.session.scalars(policy.visible_boards(actor))
        if policy.can_moderate(actor, board)
    ]


def _tag(kind: str) -> Any:
    return literal(kind, type_=String(16)).label("kind")


def _queue_parts(actor: Actor) -> Any:
    now = utcnow()
    boards = _moderated_board_ids(actor)
    member_id = actor.user_id
    parts = [
        policy.visible_reports(actor)
        .where(Report.status == ReportStatus.OPEN)
        .with_only_columns(_tag("report"), Report.id.label("id"), Report.created_at.label("at")),
        policy.visible_sanctions(actor)
        .where(
            Sanction.user_id != member_id,
            or_(Sanction.created_by_id.is_(None), Sanction.created_by_id != member_id),
            or_(
                and_(Sanction.state == SanctionState.UNCONFIRMED, Sanction.ends_at > now),
                and_(
                    Sanction.state == SanctionState.ACTIVE,
                    Sanction.created_by_id.is_(None),
                    Sanction.confirmed_by_id.is_(None),
                ),
            ),
        )
        .with_only_columns(
            _tag("sanction"), Sanction.id.label("id"), Sanction.starts_at.label("at")
        ),
        policy.visible_appeals(actor)
        .where(Appeal.state == AppealState.OPEN, Appeal.user_id != member_id)
        .with_only_columns(_tag("appeal"), Appeal.id.label("id"), Appeal.created_at.label("at")),
    ]
    # Hidden posts are few. Pick them by their own index first: joined to topics and
    # boards, the planner walks every post of the moderated boards instead (SQLite took
    # 35 ms per query on 40,000 posts), then scope the handful through policy.
    review_ids = list(
        db.session.scalars(
            select(Post.id).where(
                Post.hidden_at.is_not(None), Post.review_requested_at.is_not(None)
            )
        )
    )
    approval_ids = list(
        db.session.scalars(select(Post.id).where(Post.hidden_kind == HiddenKind.APPROVAL.value))
    )
    if boards and (review_ids or approval_ids):
        posts = policy.visible_posts(actor).where(
            Topic.board_id.in_(boards), Post.author_id != member_id, Post.deleted_at.is_(None)
        )
        parts.append(
            posts.where(Post.id.in_(review_ids)).with_only_columns(
                _tag("review"), Post.id.label("id"), Post.review_requested_at.label("at")
            )
        )
        parts.append(
            posts.where(
                Post.id.in_(approval_ids), Post.hidden_kind == HiddenKind.APPROVAL.value
            ).with_only_columns(_tag("approval"), Post.id.label("id"), Post.hidden_at.label("at"))
        )
    return union_all(*parts).subquery()


def queue(actor: Actor, *, page: int = 1, per_page: int = 50) -> Page[QueueItem]:
    """What waits for the actor as a moderator, oldest first: open cases, re-review
    requests, posts awaiting approval, sanctions to confirm or review, appeals."""
    policy.require_moderator(actor)
    union = _queue_parts(actor)
    total = int(db.session.scalar(select(func.count()).select_from(union)) or 0)
    page = max(1, page)
    pages = max(1, -(-total // per_page))
    rows = db.session.execute(
        select(union.c.kind, union.c.id, union.c.at)
        .order_by(union.c.at, union.c.kind, union.c.id)
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    items = _queue_items(actor, [(str(kind), int(id_)) for kind, id_, _at in rows])
    return Page(items=items, page=page, pages=pages, total=total, per_page=per_page)


def waiting_count(actor: Actor) -> int:
    """How many items wait in the actor's queue (the header's count): the queue's own
    parts, so that the count and the queue can never disagree; 0 for non-moderators."""
    if not policy.can_moderate_anywhere(actor):
        return 0
    union = _queue_parts(actor)
    return int(db.session.scalar(select(func.count()).select_from(union)) or 0)


def queue_item(actor: Actor, report: Report) -> QueueItem:
    """One case as the queue shows it (for its own page); `NotFound` outside the scope."""
    policy.require_moderator(actor)
    items = _queue_items(actor, [("report", report.id)])
    if not items:
        raise NotFound()
    return items[0]


def _ids(rows: Sequence[tuple[str, int]], kind: str) -> list[int]:
    return [id_ for k, id_ in rows if k == kind]


def _queue_items(actor: Actor, rows: Sequence[tuple[str, int]]) -> list[QueueItem]:
    """Load a page of queue rows with everything shown, in a fixed number of queries."""
    reports = {
        r.id: r
        for r in db.session.scalars(
            policy.visible_reports(actor).where(Report.id.in_(_ids(rows, "report")))
        )
    }
    appeals = {
        a.id: a
        for a in db.session.scalars(
            policy.visible_appeals(actor).where(Appeal.id.in_(_ids(rows, "appeal")))
        )
    }
    sanction_ids = _ids(rows, "sanction") + [
        a.target_id for a in appeals.values() if a.target_type == "sanction"
    ]
    found_sanctions = {
        s.id: s
        for s in db.session.scalars(
            policy.visible_sanctions(actor).where(Sanction.id.in_(sanction_ids))
        )
    }
    post_ids = (
        _ids(rows, "review")
        + _ids(rows, "approval")
        + [r.post_id for r in reports.values()]
        + [a.target_id for a in appeals.values() if a.target_type == "post"]
    )
    found_posts = {
        p.id: p
        for p in db.session.scalars(policy.visible_posts(actor).where(Post.id.in_(post_ids)))
    }
    topics = {
        t.id: t
        for t in db.session.scalars(
            policy.visible_topics(actor)
            .where(Topic.id.in_({p.topic_id for p in found_posts.values()}))
            .options(joinedload(Topic.board))
        )
    }
    flags: dict[int, list[Flag]] = {}
    for flag in db.session.scalars(
        select(Flag).where(Flag.report_id.in_(list(reports))).order_by(Flag.id)
    ):
        flags.setdefault(flag.report_id, []).append(flag)

    items: list[QueueItem] = []
    for kind, id_ in rows:
        item = _queue_item(kind, id_, reports, appeals, found_sanctions, found_posts, topics)
        if item is None:
            continue
        if isinstance(item.obj, Report):
            item.score = item.obj.score
            for flag in flags.get(item.obj.id, []):
                item.reasons.append((FlagReason(flag.reason), flag.note, flag.trust_level))
        items.append(item)
    _add_history(actor, items)
    _add_author_levels(items)
    return items


def _add_author_levels(items: list[QueueItem]) -> None:
    """Fill in each post author's trust level in the item's scope, in one query."""
    wanted = {
        (item.post.author_id, item.group_id)
        for item in items
        if item.post is not None and item.group_id is not None
    }
    granted: dict[tuple[int, int], int] = {}
    if wanted:
        rows = db.session.execute(
            select(Membership.user_id, Membership.group_id, Membership.trust_level).where(
                Membership.user_id.in_(sorted({user_id for user_id, _g in wanted})),
                Membership.group_id.in_(sorted({group_id for _u, group_id in wanted})),
                Membership.trust_level.is_not(None),
            )
        )
        granted = {
            (user_id, group_id): level
            for user_id, group_id, level in rows
            if level is not None and group_id is not None
        }
    for item in items:
        if item.post is None:
            continue
        site = item.post.author.trust_level
        key = (item.post.author_id, item.group_id) if item.group_id is not None else None
        item.author_trust_level = max(site, granted.get(key, 0)) if key else site


def _queue_item(
    kind: str,
    id_: int,
    reports: dict[int, Report],
    appeals: dict[int, Appeal],
    found_sanctions: dict[int, Sanction],
    found_posts: dict[int, Post],
    topics: dict[int, Topic],
) -> QueueItem | None:
    obj: Report | Post | Sanction | Appeal | None
    post: Post | None = None
    sanction: Sanction | None = None
    if kind == "report":
        obj = reports.get(id_)
        post = found_posts.get(obj.post_id) if obj is not None else None
    elif kind in ("review", "approval"):
        obj = post = found_posts.get(id_)
    elif kind == "sanction":
        obj = sanction = found_sanctions.get(id_)
    else:
        appeal = appeals.get(id_)
        obj = appeal
        if appeal is not None and appeal.target_type == "post":
            post = found_posts.get(appeal.target_id)
        elif appeal is not None:
            sanction = found_sanctions.get(appeal.target_id)
    if obj is None:
        return None
    topic = topics.get(post.topic_id) if post is not None else None
    if post is not None and topic is None:
        return None
    member = post.author if post is not None else sanction.user if sanction is not None else None
    if isinstance(obj, Appeal):
        member = obj.user
    created: datetime | None
    if isinstance(obj, Post):
        created = obj.review_requested_at if kind == "review" else obj.hidden_at
    elif isinstance(obj, Sanction):
        created = obj.starts_at
    else:
        created = obj.created_at
    return QueueItem(
        kind=kind,
        obj=obj,
        created_at=created or utcnow(),
        post=post,
        topic=topic,
        board=topic.board if topic is not None else None,
        sanction=sanction,
        member=member,
    )


def _add_history(actor: Actor, items: list[QueueItem]) -> None:
    """Fill in each member's earlier hidden posts and sanctions in the item's scope."""
    member_ids = {item.member.id for item in items if item.member is not None}
    if not member_ids:
        return
    # Candidates by the posts' own indexes first (see _queue_parts), then through policy.
    hidden_ids = list(
        db.session.scalars(
            select(Post.id).where(
                Post.author_id.in_(sorted(member_ids)), Post.hidden_at.is_not(None)
            )
        )
    )
    hidden = {
        (author_id, group_id): int(count)
        for author_id, group_id, count in db.session.execute(
            policy.visible_posts(actor)
            .join(Board, Board.id == Topic.board_id)
            .where(Post.id.in_(hidden_ids))
            .with_only_columns(Post.author_id, Board.group_id, func.count(Post.id))
            .group_by(Post.author_id, Board.group_id)
        )
    }
    sanctioned = {
        (user_id, group_id): int(count)
        for user_id, group_id, count in db.session.execute(
            policy.visible_sanctions(actor)
            .where(Sanction.user_id.in_(member_ids))
            .with_only_columns(Sanction.user_id, Sanction.group_id, func.count(Sanction.id))
            .group_by(Sanction.user_id, Sanction.group_id)
        )
    }
    for item in items:
        if item.member is None:
            continue
        key = (item.member.id, item.group_id)
        earlier = hidden.get(key, 0)
        if item.post is not None and item.post.is_hidden:
            earlier -= 1
        item.hidden_posts = max(0, earlier)
        item.sanctions = sanctioned.get(key, 0)
