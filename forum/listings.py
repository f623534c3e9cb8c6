"""Read models for pages and the API: every list starts from a policy scope.

The HTML and JSON front ends call these, so both show exactly the same things, and no
view writes a query of its own.
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Generic
from typing import TypeVar

from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm import defer
from sqlalchemy.orm import joinedload
from sqlalchemy.orm import lazyload

from forum import policy
from forum.errors import Invalid
from forum.errors import NotFound
from forum.extensions import db
from forum.models.base import utcnow
from forum.models.boards import Board
from forum.models.groups import BreakGlass
from forum.models.groups import Group
from forum.models.groups import JoinRequest
from forum.models.groups import Membership
from forum.models.groups import RequestState
from forum.models.groups import Role
from forum.models.groups import Visibility
from forum.models.moderation import Appeal
from forum.models.moderation import Flag
from forum.models.moderation import Sanction
from forum.models.moderation import SanctionKind
from forum.models.moderation import SanctionState
from forum.models.modlog import ModerationLog
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import Actor

T = TypeVar("T")


@dataclass
class Page(Generic[T]):
    """One page of a list, with the numbers a pager needs."""

    items: list[T]
    page: int
    pages: int
    total: int
    per_page: int

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _paged(stmt: Select[T], total: int, page: int, per_page: int) -> Page[T]:
    pages = max(1, -(-total // per_page))
    page = max(1, page)
    items = list(db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, page=page, pages=pages, total=total, per_page=per_page)


@dataclass
class BoardEntry:
    """A board on the index, with its sub-boards and its latest topic (if visible)."""

    board: Board
    children: list[Board]
    last_topic: Topic | None


def board_index(actor: Actor) -> list[BoardEntry]:
    """Top-level boards in order, each with its sub-boards and latest topic."""
    return _board_entries(actor, policy.visible_boards(actor))


def _board_entries(actor: Actor, scope: Select[Board]) -> list[BoardEntry]:
    # Positions count within a scope: the site's boards first, then each group's.
    order = (Board.group_id.is_not(None), Board.group_id, Board.position, Board.id)
    boards = list(db.session.scalars(scope.order_by(*order)))
    last_ids = [b.last_topic_id for b in boards if b.last_topic_id]
    last_topics = (
        {
            t.id: t
            for t in db.session.scalars(policy.visible_topics(actor).where(Topic.id.in_(last_ids)))
        }
        if last_ids
        else {}
    )
    entries = {
        b.id: BoardEntry(b, [], last_topics.get(b.last_topic_id or 0))
        for b in boards
        if b.parent_id is None
    }
    for board in boards:
        if board.parent_id is not None and board.parent_id in entries:
            entries[board.parent_id].children.append(board)
    return list(entries.values())


def board_page_numbers(board: Board, page: int, per_page: int) -> Page[Topic]:
    """The pager's numbers for a board's topic list, from its counter (no query)."""
    pages = max(1, -(-board.topics_count // per_page))
    return Page([], max(1, page), pages, board.topics_count, per_page)


def sub_boards(actor: Actor, board: Board) -> list[Board]:
    """The visible sub-boards of a board, in order."""
    # Every board page runs it: built once per view of the boards (see the policy).
    stmt = policy.scope_statement(
        "sub-boards",
        actor,
        lambda: (
            policy.visible_boards(actor)
            .where(Board.parent_id == bindparam("parent_id"))
            .order_by(Board.position, Board.id)
        ),
    )
    return list(db.session.scalars(stmt, {"parent_id": board.id}))


def board_topics(actor: Actor, board: Board, page: int, per_page: int) -> Page[Topic]:
    """A board's topics: pinned first, then by latest activity."""
    order = (Topic.pinned.desc(), Topic.last_post_at.desc(), Topic.id.desc())
    # Without the reader's own waiting topics: the list is shared (and cached) between
    # everyone with the same view of the board (see policy.board_view_variant).
    scope = policy.visible_topics(actor, own_waiting=False).where(Topic.board_id == board.id)
    # Deep pages: pick the page's ids from the (board, pinned, last_post_at) index first,
    # then load just those rows; OFFSET over full joined rows reads every skipped one.
    ids = (
        scope.with_only_columns(Topic.id)
        .order_by(*order)
        .limit(per_page)
        .offset((max(1, page) - 1) * per_page)
        .scalar_subquery()
    )
    stmt = (
        policy.visible_topics(actor, own_waiting=False)
        .where(Topic.id.in_(ids))
        .options(joinedload(Topic.author).load_only(User.id, User.username, User.deleted_at))
        .order_by(*order)
    )
    # The board's counter is exact for its visible topics; no COUNT(*) over the board.
    pages = max(1, -(-board.topics_count // per_page))
    items = list(db.session.scalars(stmt))
    return Page(items, max(1, page), pages, board.topics_count, per_page)


def topic_posts(
    actor: Actor, topic: Topic, page: int, per_page: int, *, sources: bool = True
) -> Page[Post]:
    """A topic's posts in order (deleted ones included as placeholders).

    `sources=False` leaves the Markdown source unloaded, for pages that show only HTML.
    """
    # The site label and the group-label hint come in the same join as the names.
    author = joinedload(Post.author).load_only(
        User.id, User.username, User.deleted_at, User.label, User.group_labels
    )
    stmt = (
        policy.visible_posts(actor)
        .where(Post.topic_id == topic.id)
        .options(author)
        .order_by(Post.number)
    )
    if not sources:
        stmt = stmt.options(defer(Post.body))
    # Post numbers are dense, so the last number gives the count including deleted posts.
    total = topic.next_number - 1
    return _paged(stmt, total, page, per_page)


@dataclass(frozen=True)
class PostSummary:
    """The facts about a post that a cached topic page still needs per reader.

    Kept beside the cached HTML, never in it: the hidden reason, for one, is shown only
    to the post's author (moderators get it in their own variant of the page).
    """

    id: int
    number: int
    author_id: int
    revisions_count: int
    is_deleted: bool
    is_hidden: bool
    hidden_kind: str | None
    hidden_reason: str
    review_requested: bool
    likes_count: int

    @classmethod
    def of(cls, post: Post) -> PostSummary:
        """The summary of a loaded post."""
        return cls(
            id=post.id,
            number=post.number,
            author_id=post.author_id,
            revisions_count=post.revisions_count,
            is_deleted=post.is_deleted,
            is_hidden=post.is_hidden,
            hidden_kind=str(post.hidden_kind) if post.hidden_kind is not None else None,
            hidden_reason=post.hidden_reason or "",
            review_requested=post.review_requested_at is not None,
            likes_count=post.likes_count or 0,
        )


def author_labels(group_id: int | None, authors: Collection[User]) -> dict[int, str]:
    """The role labels shown beside these members' names in a place: a group's boards
    (`group_id`) or the site's (None). No query on the site's boards, and inside a group
    one at most, only when some author has a group label or hides one there."""
    memberships: dict[int, Membership] = {}
    if group_id is not None:
        wanted = sorted({a.id for a in authors if a.group_labels})
        if wanted:
            stmt = (
                select(Membership)
                .where(Membership.group_id == group_id, Membership.user_id.in_(wanted))
                .options(lazyload(Membership.user))
            )
            memberships = {m.user_id: m for m in db.session.scalars(stmt)}
    found = {a.id: policy.shown_label(a, memberships.get(a.id)) for a in authors}
    return {user_id: label for user_id, label in found.items() if label}


def post_author_labels(post: Post) -> dict[int, str]:
    """`author_labels` for one post's author, where the post is."""
    return author_labels(post.topic.board.group_id, [post.author])


def page_of_post(post: Post, per_page: int) -> int:
    """The page of its topic on which a post appears."""
    return (post.number - 1) // per_page + 1


def reply_targets(actor: Actor, posts: Sequence[Post]) -> dict[int, Post]:
    """The posts that the given posts answer, as far as the actor may see them."""
    # Most answered posts are on the same page: only look up the others.
    on_page = {p.id: p for p in posts}
    wanted = {p.reply_to_id for p in posts if p.reply_to_id}
    found = {i: on_page[i] for i in wanted if i in on_page}
    missing = wanted - found.keys()
    if missing:
        stmt = (
            policy.visible_posts(actor)
            .where(Post.id.in_(missing))
            .options(
                defer(Post.body),
                joinedload(Post.author).load_only(User.id, User.username, User.deleted_at),
            )
        )
        found.update((p.id, p) for p in db.session.scalars(stmt))
    return found


@dataclass
class RecentTopic:
    """A topic on a profile, with the member's recent posts in it (newest first)."""

    topic: Topic
    posts: list[Post]


@dataclass
class Profile:
    """What a profile shows: counts and recent posts, only from what the viewer may see."""

    user: User
    posts_count: int
    topics_count: int
    recent_posts: list[Post]

    @property
    def recent_topics(self) -> list[RecentTopic]:
        """The recent posts grouped by topic, topics in the order of their newest post:
        a topic's title once, however many of the posts are in it."""
        grouped: dict[int, RecentTopic] = {}
        for post in self.recent_posts:
            entry = grouped.setdefault(post.topic_id, RecentTopic(post.topic, []))
            entry.posts.append(post)
        return list(grouped.values())


def profile(actor: Actor, user: User, recent: int = 10) -> Profile:
    """The member's profile as the actor may see it."""
    posts = policy.visible_posts(actor).where(Post.author_id == user.id, Post.deleted_at.is_(None))
    posts_count = db.session.scalar(select(func.count()).select_from(posts.subquery())) or 0
    topics = policy.visible_topics(actor).where(Topic.author_id == user.id)
    topics_count = db.session.scalar(select(func.count()).select_from(topics.subquery())) or 0
    # The scope already joins Topic: fill `post.topic` from that join, not one query each.
    latest_stmt = posts.options(contains_eager(Post.topic)).order_by(Post.created_at.desc())
    latest = list(db.session.scalars(latest_stmt.limit(recent)))
    return Profile(user, posts_count, topics_count, latest)


def latest_topics(actor: Actor, page: int, per_page: int) -> Page[Topic]:
    """Topics from every visible board, by latest activity."""
    scope = policy.visible_topics(actor)
    total = db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0
    stmt = scope.options(joinedload(Topic.board), joinedload(Topic.last_poster)).order_by(
        Topic.last_post_at.desc(), Topic.id.desc()
    )
    return _paged(stmt, total, page, per_page)


# --- groups -----------------------------------------------------------------------

# Owners first, then moderators, then members: the order every member list uses.
_ROLE_ORDER = {Role.OWNER: 0, Role.MODERATOR: 1, Role.MEMBER: 2}


@dataclass
class GroupView:
    """A group as the actor sees it: their role in it, and its size if they may see members."""

    group: Group
    role: Role | None
    # None unless the actor may see who is in the group (`policy.can_see_members`).
    members_count: int | None


def group_role(actor: Actor, group: Group) -> Role | None:
    """The actor's role in the group, from the actor's own facts (no query)."""
    if group.id in actor.owned_group_ids:
        return Role.OWNER
    if group.id in actor.moderated_group_ids:
        return Role.MODERATOR
    return Role.MEMBER if group.id in actor.group_ids else None


def _members_counts(group_ids: Sequence[int]) -> dict[int, int]:
    if not group_ids:
        return {}
    rows = db.session.execute(
        select(Membership.group_id, func.count())
        .where(Membership.group_id.in_(sorted(group_ids)))
        .group_by(Membership.group_id)
    )
    return {group_id: int(count) for group_id, count in rows}


def group_views(actor: Actor, found: Sequence[Group]) -> list[GroupView]:
    """Groups with the actor's role, and member counts only where they may see members."""
    # The same predicate as `policy.visible_members`, decided per group, counted in one query.
    counted = {g.id for g in found if policy.can_see_members(actor, g)}
    counts = _members_counts(sorted(counted))
    return [
        GroupView(g, group_role(actor, g), counts.get(g.id, 0) if g.id in counted else None)
        for g in found
    ]


def visible_group_list(actor: Actor) -> list[GroupView]:
    """Every group the actor may know exists, by name."""
    stmt = policy.visible_groups(actor).order_by(Group.name, Group.id)
    return group_views(actor, list(db.session.scalars(stmt)))


def my_groups(actor: Actor) -> list[GroupView]:
    """The groups the actor belongs to, by name."""
    if not actor.group_ids:
        return []
    stmt = (
        policy.visible_groups(actor)
        .where(Group.id.in_(sorted(actor.group_ids)))
        .order_by(Group.name, Group.id)
    )
    return group_views(actor, list(db.session.scalars(stmt)))


def group_members(actor: Actor, group: Group) -> list[Membership]:
    """Who is in the group, owners first; `Denied` (guests: `NotLoggedIn`) if not theirs to see.

    The group itself is visible to the caller (it came through `require_group`), so a
    refusal here is a 403, not a 404.
    """
    policy.check_see_members(actor, group)
    found = list(db.session.scalars(policy.visible_members(actor, group)))
    return sorted(found, key=lambda m: (_ROLE_ORDER[m.role], m.created_at, m.user.username_key))


def join_request(actor: Actor, group: Group, request_id: int) -> JoinRequest:
    """One of the group's join requests, for whoever decides them; else `NotFound`/`Denied`."""
    policy.check_invite(actor, group, "see join requests")
    found: JoinRequest | None = db.session.scalar(
        select(JoinRequest).where(JoinRequest.id == request_id, JoinRequest.group_id == group.id)
    )
    if found is None:
        raise NotFound()
    return found


def admin_group_overview(actor: Actor) -> list[GroupView]:
    """Every group with its member count, secret ones included, for site admins only.

    The admin area shows a secret group's name and size, never who is in it or what is
    said there: entering takes the logged break-glass step.
    """
    policy.require_admin(actor)
    found = list(db.session.scalars(select(Group).order_by(Group.name, Group.id)))
    counts = _members_counts([g.id for g in found])
    return [GroupView(g, group_role(actor, g), counts.get(g.id, 0)) for g in found]


# --- groups: the browser's pages -------------------------------------------


@dataclass
class GroupChoice:
    """A public group the actor could join, and whether they have asked already."""

    group: Group
    requested: bool


def _requested_group_ids(actor: Actor) -> set[int]:
    """Groups (among those the actor may see) with a pending request of the actor's."""
    if not actor.is_member:
        return set()
    visible_ids = policy.visible_groups(actor).with_only_columns(Group.id)
    return set(
        db.session.scalars(
            select(JoinRequest.group_id).where(
                JoinRequest.user_id == actor.user_id,
                JoinRequest.state == RequestState.PENDING,
                JoinRequest.group_id.in_(visible_ids),
            )
        )
    )


def joinable_groups(actor: Actor) -> list[GroupChoice]:
    """Public groups the actor may see and is not in, by name, with their pending requests."""
    stmt = policy.visible_groups(actor).where(Group.visibility == Visibility.PUBLIC)
    if actor.group_ids:
        stmt = stmt.where(Group.id.not_in(sorted(actor.group_ids)))
    found = list(db.session.scalars(stmt.order_by(Group.name, Group.id)))
    requested = _requested_group_ids(actor) if found else set()
    return [GroupChoice(g, g.id in requested) for g in found]


def has_pending_request(actor: Actor, group: Group) -> bool:
    """True if the actor has asked to join the (visible) group and nobody has decided yet."""
    return group.id in _requested_group_ids(actor)


def group_boards(actor: Actor, group: Group) -> list[BoardEntry]:
    """The group's boards the actor may see, like the index: sub-boards, latest topic."""
    return _board_entries(actor, policy.visible_boards(actor).where(Board.group_id == group.id))


def group_member(actor: Actor, group: Group, username: str) -> Membership | None:
    """One membership by username, if the actor may see who is in the group."""
    stmt = (
        policy.visible_members(actor, group)
        .join(User, User.id == Membership.user_id)
        .options(contains_eager(Membership.user))
        .where(User.username_key == username.strip().lower())
    )
    membership: Membership | None = db.session.scalar(stmt)
    return membership


@dataclass
class BreakGlassNote:
    """A break-glass entry as a group's owners see it: who, when, why, until when."""

    admin: str
    at: datetime
    reason: str
    until: datetime | None

    @property
    def active(self) -> bool:
        return self.until is not None and self.until > utcnow()


def break_glass_notes(actor: Actor, group: Group, limit: int = 20) -> list[BreakGlassNote]:
    """The group's break-glass entries, newest first, from the actor's moderation-log scope.

    Each log row points at its `BreakGlass` step (target_id), which holds the end time.
    """
    entries = list(
        db.session.scalars(
            policy.visible_log_entries(actor)
            .where(ModerationLog.group_id == group.id, ModerationLog.action == "break_glass")
            .options(
                joinedload(ModerationLog.actor).load_only(User.id, User.username, User.deleted_at)
            )
            .order_by(ModerationLog.created_at.desc(), ModerationLog.id.desc())
            .limit(limit)
        )
    )
    steps = {
        step.id: step
        for step in db.session.scalars(
            select(BreakGlass).where(
                BreakGlass.group_id == group.id,
                BreakGlass.id.in_([e.target_id for e in entries]),
            )
        )
    }
    notes = []
    for entry in entries:
        step = steps.get(entry.target_id)
        name = entry.actor.username if entry.actor is not None else "(deleted account)"
        until = step.expires_at if step is not None else None
        notes.append(BreakGlassNote(name, entry.created_at, entry.reason, until))
    return notes


# --- moderation: what members and moderators see ----------------------------------


def appealed_post_ids(actor: Actor, post_ids: Sequence[int]) -> set[int]:
    """Of the given posts, those the actor has already appealed (one appeal per post)."""
    if not actor.is_member or not post_ids:
        return set()
    return set(
        db.session.scalars(
            policy.visible_appeals(actor)
            .where(
                Appeal.user_id == actor.user_id,
                Appeal.target_type == "post",
                Appeal.target_id.in_(sorted(post_ids)),
            )
            .with_only_columns(Appeal.target_id)
        )
    )


def my_flag(actor: Actor, post: Post) -> Flag | None:
    """The actor's own report of the (visible) post, if they made one."""
    if not actor.is_member:
        return None
    flag: Flag | None = db.session.scalar(
        select(Flag).where(Flag.post_id == post.id, Flag.reporter_id == actor.user_id)
    )
    return flag


def moderated_boards(actor: Actor) -> list[Board]:
    """Every board the actor moderates, group boards after site boards, by name."""
    stmt = policy.visible_boards(actor).options(joinedload(Board.group))
    found = [b for b in db.session.scalars(stmt) if policy.can_moderate(actor, b)]
    return sorted(found, key=lambda b: (b.group.name if b.group else "", b.position, b.name, b.id))


def own_hidden_posts(actor: Actor, limit: int = 50) -> list[Post]:
    """The actor's own posts that are hidden or waiting for approval, newest first."""
    if not actor.is_member:
        return []
    stmt = (
        policy.visible_posts(actor)
        .where(
            Post.author_id == actor.user_id,
            Post.hidden_at.is_not(None),
            Post.deleted_at.is_(None),
        )
        .options(contains_eager(Post.topic), defer(Post.body))
        .order_by(Post.hidden_at.desc(), Post.id.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def own_appeals(actor: Actor) -> dict[tuple[str, int], Appeal]:
    """The actor's appeals, by (target type, target id)."""
    if not actor.is_member:
        return {}
    stmt = policy.visible_appeals(actor).where(Appeal.user_id == actor.user_id)
    return {(a.target_type, a.target_id): a for a in db.session.scalars(stmt)}


def group_log(actor: Actor, group: Group, page: int, per_page: int = 50) -> Page[ModerationLog]:
    """The group's moderation log entries the actor may see, newest first."""
    scope = policy.visible_log_entries(actor).where(ModerationLog.group_id == group.id)
    total = db.session.scalar(select(func.count()).select_from(scope.subquery())) or 0
    stmt = scope.options(
        joinedload(ModerationLog.actor).load_only(User.id, User.username, User.deleted_at)
    ).order_by(ModerationLog.created_at.desc(), ModerationLog.id.desc())
    return _paged(stmt, total, page, per_page)


def sanction_scopes(actor: Actor, user: User) -> list[Group | None]:
    """The scopes in which the actor may silence or suspend the member: the site (None)
    and the groups the actor moderates that the member belongs to."""
    scopes: list[Group | None] = []
    if policy.can_act_on_member(actor, user, None):
        scopes.append(None)
    moderated = actor.moderated_group_ids | actor.glass_group_ids
    if actor.is_site_moderator:
        groups_stmt = select(Group).join(Membership, Membership.group_id == Group.id)
    elif moderated:
        groups_stmt = (
            select(Group)
            .join(Membership, Membership.group_id == Group.id)
            .where(Group.id.in_(sorted(moderated)))
        )
    else:
        return scopes
    stmt = groups_stmt.where(Membership.user_id == user.id).order_by(Group.name, Group.id)
    scopes += [g for g in db.session.scalars(stmt) if policy.can_act_on_member(actor, user, g)]
    return scopes


def site_moderators(actor: Actor) -> list[User]:
    """The site's moderators (not admins), by name: for admins only."""
    policy.require_admin(actor)
    stmt = (
        select(User)
        .where(User.is_moderator.is_(True), User.is_admin.is_(False))
        .order_by(User.username_key)
    )
    return list(db.session.scalars(stmt))


@dataclass
class LogView:
    """What a page of log entries shows besides the entries: scope names, the members
    the entries are about, and which entries the actor may undo."""

    groups: dict[int, Group]
    usernames: dict[int, str]
    undoable: set[int]

    def scope(self, entry: ModerationLog) -> str:
        """The entry's scope as a reader sees it: a group's name, or "Site"."""
        group = self.groups.get(entry.group_id) if entry.group_id is not None else None
        return group.name if group is not None else "Site"


def log_view(
    actor: Actor, entries: Sequence[ModerationLog], *, undoable: Collection[str]
) -> LogView:
    """Scope names, member names and undo rights for log entries the actor was shown."""
    group_ids = sorted({e.group_id for e in entries if e.group_id is not None})
    groups = (
        {g.id: g for g in db.session.scalars(select(Group).where(Group.id.in_(group_ids)))}
        if group_ids
        else {}
    )
    user_ids = sorted({e.target_id for e in entries if e.target_type == "user"})
    usernames = (
        {
            u.id: u.username
            for u in db.session.scalars(policy.visible_users(actor).where(User.id.in_(user_ids)))
        }
        if user_ids
        else {}
    )
    may_undo = set()
    for entry in entries:
        if entry.action not in undoable:
            continue
        group = groups.get(entry.group_id) if entry.group_id is not None else None
        if policy.can_undo_log_entry(actor, entry, group):
            may_undo.add(entry.id)
    return LogView(groups, usernames, may_undo)


def group_names(actor: Actor, group_ids: Sequence[int | None]) -> dict[int, str]:
    """Names of those of the groups the actor may know exist (for scopes shown in lists)."""
    wanted = sorted({i for i in group_ids if i is not None})
    if not wanted:
        return {}
    stmt = policy.visible_groups(actor).where(Group.id.in_(wanted))
    return {g.id: g.name for g in db.session.scalars(stmt)}


@dataclass
class TrustScope:
    """Where the actor may set the member's trust level by hand, and what it is there."""

    # None: the site level (admins).
    group: Group | None
    # The site level, or the level granted inside the group (None: no grant).
    level: int | None


def trust_grant_scopes(actor: Actor, user: User) -> list[TrustScope]:
    """Where the actor may set the member's trust level by hand: the site level as an
    admin, and a level inside each group they own that the member is in."""
    scopes: list[TrustScope] = []
    if policy.can_grant_trust(actor, user, None):
        scopes.append(TrustScope(None, user.trust_level))
    if not actor.owned_group_ids or user.id == actor.user_id:
        return scopes
    stmt = (
        select(Group, Membership.trust_level)
        .join(Membership, Membership.group_id == Group.id)
        .where(Group.id.in_(sorted(actor.owned_group_ids)), Membership.user_id == user.id)
        .order_by(Group.name, Group.id)
    )
    for group, level in db.session.execute(stmt):
        if policy.can_grant_trust(actor, user, group):
            scopes.append(TrustScope(group, level))
    return scopes


@dataclass
class LabelScope:
    """Where the actor may set the member's role label, and what it is there now."""

    # None: the site label (admins).
    group: Group | None
    label: str | None


def label_scopes(actor: Actor, user: User) -> list[LabelScope]:
    """Where the actor may give or take away the member's role label: the site label as
    an admin, and a label inside each group of the member's that the actor runs."""
    scopes: list[LabelScope] = []
    if policy.can_set_label(actor, user, None):
        scopes.append(LabelScope(None, user.label))
    if user.id == actor.user_id or not actor.is_member:
        return scopes
    runs: ColumnElement[bool] = Group.id.in_(sorted(actor.owned_group_ids))
    if actor.is_admin:
        # Admins manage public groups, and secret ones only while broken into.
        runs = or_(
            runs, Group.visibility == Visibility.PUBLIC, Group.id.in_(sorted(actor.glass_group_ids))
        )
    stmt = (
        select(Group, Membership.label)
        .join(Membership, Membership.group_id == Group.id)
        .where(Membership.user_id == user.id, runs)
        .order_by(Group.name, Group.id)
    )
    for group, label in db.session.execute(stmt):
        if policy.can_set_label(actor, user, group):
            scopes.append(LabelScope(group, label))
    return scopes


# --- the admins' member directory -------------------------------------------------

DIRECTORY_SANCTIONS = ("", "now", "silenced", "suspended", "ever")
DIRECTORY_SORTS = ("newest", "oldest", "name")
DIRECTORY_PER_PAGE = 50
# Sanctions that hold now: not lifted, not over (forum.moderation.sanctions' "live").
_LIVE_STATES = (SanctionState.ACTIVE, SanctionState.UNCONFIRMED)


@dataclass(frozen=True)
class MemberFilters:
    """What the member directory is asked for (all optional)."""

    q: str = ""
    level: int | None = None
    joined_after: date | None = None
    joined_before: date | None = None
    sanction: str = ""
    sort: str = "newest"

    def query_args(self) -> dict[str, str]:
        """The filters as query arguments (for the pager's links), empty ones left out."""
        values = {
            "q": self.q,
            "level": "" if self.level is None else str(self.level),
            "joined_after": self.joined_after.isoformat() if self.joined_after else "",
            "joined_before": self.joined_before.isoformat() if self.joined_before else "",
            "sanction": self.sanction,
            "sort": "" if self.sort == "newest" else self.sort,
        }
        return {key: value for key, value in values.items() if value}


def _day(values: Mapping[str, str], name: str, label: str) -> date | None:
    raw = (values.get(name) or "").strip()
    if not raw:
        return None
    try:
        # fromisoformat also takes "20260102" and week dates: only the one form we ask for.
        if len(raw) == 10:
            return date.fromisoformat(raw)
    except ValueError:
        pass
    raise Invalid(name, f"{label} must be a date, YYYY-MM-DD.")


def member_filters(values: Mapping[str, str]) -> MemberFilters:
    """The directory's filters from a query string or form; `Invalid` naming each bad one."""
    errors: dict[str, str] = {}
    found: dict[str, Any] = {}
    q = (values.get("q") or "").strip()
    if len(q) > 20 or "\x00" in q:
        errors["q"] = "A name has at most 20 characters."
    found["q"] = q
    level = (values.get("level") or "").strip()
    if level and level not in ("0", "1", "2", "3", "4"):
        errors["level"] = "Trust level must be 0, 1, 2, 3 or 4."
    found["level"] = int(level) if level in ("0", "1", "2", "3", "4") else None
    for name, label in (
        ("joined_after", "Joined on or after"),
        ("joined_before", "Joined on or before"),
    ):
        try:
            found[name] = _day(values, name, label)
        except Invalid as exc:
            errors.update(exc.fields)
    for name, options in (("sanction", DIRECTORY_SANCTIONS), ("sort", DIRECTORY_SORTS)):
        value = (values.get(name) or "").strip() or ("newest" if name == "sort" else "")
        if value not in options:
            errors[name] = (
                f"{name.capitalize()} must be one of: {', '.join(o for o in options if o)}."
            )
        found[name] = value
    if errors:
        raise Invalid(errors)
    return MemberFilters(**found)


@dataclass(frozen=True)
class SanctionNote:
    """A sanction holding now, as the directory shows it (a group only if the admin may
    see it: never a secret group's, unless broken into)."""

    kind: SanctionKind
    until: datetime | None
    group: Group | None


@dataclass
class DirectoryRow:
    """One member in the directory: the account, and what the admin may see of them."""

    user: User
    posts_count: int
    sanctions: list[SanctionNote]


def _live_sanctions(actor: Actor, now: datetime) -> Select[Sanction]:
    return policy.visible_sanctions(actor).where(
        Sanction.state.in_(_LIVE_STATES),
        or_(Sanction.ends_at.is_(None), Sanction.ends_at > now),
    )


def member_directory(actor: Actor, filters: MemberFilters, page: int) -> Page[DirectoryRow]:
    """Members matching the filters, for admins: name, join date, trust level, the posts
    they can read, and sanctions in their scopes. Never groups: who is in a secret group
    is not the admins' to know."""
    policy.require_admin(actor)
    now = utcnow()
    stmt = policy.directory_users(actor)
    if filters.q:
        stmt = stmt.where(User.username_key.contains(filters.q.lower(), autoescape=True))
    if filters.level is not None:
        stmt = stmt.where(User.trust_level == filters.level)
    if filters.joined_after is not None:
        stmt = stmt.where(User.created_at >= _start_of(filters.joined_after))
    if filters.joined_before is not None and filters.joined_before < date.max:
        stmt = stmt.where(User.created_at < _start_of(filters.joined_before + timedelta(days=1)))
    if filters.sanction:
        # Through the actor's sanction scope: a silence inside a secret group would tell
        # an admin who is in it.
        sanctioned = (
            policy.visible_sanctions(actor)
            if filters.sanction == "ever"
            else _live_sanctions(actor, now)
        )
        if filters.sanction in ("silenced", "suspended"):
            kind = SanctionKind.SILENCE if filters.sanction == "silenced" else SanctionKind.SUSPEND
            sanctioned = sanctioned.where(Sanction.kind == kind)
        stmt = stmt.where(User.id.in_(sanctioned.with_only_columns(Sanction.user_id)))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = {
        "newest": (User.created_at.desc(), User.id.desc()),
        "oldest": (User.created_at, User.id),
        "name": (User.username_key,),
    }[filters.sort]
    found = _paged(stmt.order_by(*order), total, page, DIRECTORY_PER_PAGE)
    ids = [user.id for user in found.items]
    counts: dict[int, int] = {}
    notes: dict[int, list[SanctionNote]] = {}
    if ids:
        posts = (
            policy.visible_posts(actor)
            .where(Post.author_id.in_(ids), Post.deleted_at.is_(None))
            .with_only_columns(Post.author_id, func.count(Post.id))
            .group_by(Post.author_id)
        )
        counts = {author_id: int(count) for author_id, count in db.session.execute(posts)}
        live = list(
            db.session.scalars(
                _live_sanctions(actor, now)
                .where(Sanction.user_id.in_(ids))
                .order_by(Sanction.starts_at)
            )
        )
        groups = (
            {
                group.id: group
                for group in db.session.scalars(
                    policy.visible_groups(actor).where(
                        Group.id.in_(sorted({s.group_id for s in live if s.group_id is not None}))
                    )
                )
            }
            if any(s.group_id is not None for s in live)
            else {}
        )
        for sanction in live:
            # Visible sanctions are in the actor's scope, so their group is one the actor
            # may see; a group it cannot see would not be named anyway.
            group = groups.get(sanction.group_id) if sanction.group_id is not None else None
            if sanction.group_id is not None and group is None:
                continue
            notes.setdefault(sanction.user_id, []).append(
                SanctionNote(sanction.kind, sanction.ends_at, group)
            )
    rows = [
        DirectoryRow(user, counts.get(user.id, 0), notes.get(user.id, [])) for user in found.items
    ]
    return Page(rows, found.page, found.pages, found.total, found.per_page)


def _start_of(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
