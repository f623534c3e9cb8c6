"""Plain keyword-argument factories that build data through the app's own services."""

from __future__ import annotations

import itertools

from forum.extensions import db
from forum.models.boards import Board
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.groups import Role
from forum.models.moderation import Report
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import OPERATOR
from forum.policy import Actor
from forum.policy import actor_for
from forum.services import accounts
from forum.services import boards
from forum.services import groups
from forum.services import invitations
from forum.services import posts
from forum.services import sessions
from forum.services import settings
from forum.services import topics

PASSWORD = "a long test passphrase"
_counter = itertools.count(1)


def actor(user: User | None, *, guests_read: bool = False) -> Actor:
    """The actor for a member (or a guest)."""
    return actor_for(user, guests_read=guests_read)


def make_user(
    username: str | None = None,
    *,
    password: str = PASSWORD,
    email: str | None = None,
    admin: bool = False,
    moderator: bool = False,
    trust_level: int = 0,
) -> User:
    """A member, committed."""
    user = accounts.create_user(
        username=username or f"member{next(_counter)}",
        password=password,
        is_admin=admin,
        is_moderator=moderator,
    )
    user.trust_level = trust_level
    if email:
        user.email = email.lower()
    db.session.commit()
    return user


def make_session(user: User, *, remember: bool = False, user_agent: str = "") -> str:
    """A recorded browser session for the member, committed; its key (the cookie's value)."""
    sessions.start_session(user, remember=remember, user_agent=user_agent)
    key = user.session_key
    assert key is not None  # noqa: S101 - set by start_session
    db.session.commit()
    return key


def make_admin(username: str | None = None) -> User:
    """A site admin, committed."""
    return make_user(username or f"admin{next(_counter)}", admin=True, trust_level=4)


def _admin_actor() -> Actor:
    admin = db.session.scalar(db.select(User).where(User.is_admin.is_(True)).limit(1))
    return actor(admin or make_admin())


def make_board(
    name: str | None = None,
    *,
    description: str = "",
    parent: Board | None = None,
    group: Group | None = None,
) -> Board:
    """A board (a group's, if given), created by an admin or the group's owner, committed."""
    maker = actor(owner_of(group)) if group is not None else _admin_actor()
    board = boards.create_board(
        maker,
        name=name or f"Board {next(_counter)}",
        description=description,
        parent_id=parent.id if parent else None,
        group=group,
    )
    db.session.commit()
    return board


def owner_of(group: Group) -> User:
    """One of the group's owners."""
    owner: User = db.session.scalar(
        db.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.group_id == group.id, Membership.role == Role.OWNER)
        .order_by(Membership.id)
        .limit(1)
    )
    return owner


def make_group(
    name: str | None = None,
    *,
    slug: str | None = None,
    secret: bool = False,
    owner: User | None = None,
    members: tuple[User, ...] = (),
    moderators: tuple[User, ...] = (),
) -> Group:
    """A group with an owner (made if not given), members and moderators, committed."""
    number = next(_counter)
    owner = owner or make_user(f"owner{number}")
    group = groups.create_group(
        OPERATOR,
        name=name or f"Group {number}",
        slug=slug or f"group-{number}",
        visibility="secret" if secret else "public",
        owner=owner.username,
    )
    # People join as they do in the app: through an invitation link from the owner.
    joining = (*members, *moderators)
    if joining:
        link = invitations.create_invitation(actor(owner), group, max_uses=len(joining))
        for user in joining:
            invitations.accept_invitation(actor(user), link.token)
            # Group fixtures are vouched-for members: level 1 at least, as accepting a
            # link once gave them (only accounts registered with one get that now).
            user.trust_level = max(user.trust_level, 1)
    db.session.flush()
    for user in moderators:
        groups.set_member_role(actor(owner), group, user.username, role="moderator")
    db.session.commit()
    return group


def make_invitation(
    group: Group | None, *, by: User | None = None, max_uses: int = 1, hours: int = 168
) -> str:
    """An invitation token into the group (by its owner) or the site (by an admin)."""
    if by is not None:
        maker = actor(by)
    else:
        maker = actor(owner_of(group)) if group is not None else OPERATOR
    made = invitations.create_invitation(maker, group, max_uses=max_uses, expires_in_hours=hours)
    db.session.commit()
    return made.token


def make_topic(
    board: Board | None = None,
    author: User | None = None,
    *,
    title: str | None = None,
    body: str = "The first post of a test topic.",
) -> Topic:
    """A topic with its first post, committed."""
    board = board or make_board()
    author = author or make_user()
    topic, _post = topics.create_topic(
        actor(author), board, title=title or f"Topic number {next(_counter)}", body=body
    )
    db.session.commit()
    return topic


def make_post(
    topic: Topic | None = None,
    author: User | None = None,
    *,
    body: str = "A reply in a test topic.",
    reply_to: Post | None = None,
) -> Post:
    """A reply, committed."""
    topic = topic or make_topic()
    author = author or make_user()
    post = posts.reply_to_topic(
        actor(author), topic, body=body, reply_to=reply_to.id if reply_to else None
    )
    db.session.commit()
    return post


def set_settings(**values: str) -> None:
    """Change site settings directly (no policy check), committed."""
    settings.write_settings(values)
    db.session.commit()


def make_report(post: Post, reporter: User, *, reason: str = "spam", note: str = "") -> Report:
    """A member's report of a post (through the service: weights, auto-hide), committed."""
    from forum.moderation import reports

    found = reports.report_post(actor(reporter), post, reason=reason, note=note)
    db.session.commit()
    return found


def make_reading(
    user: User,
    *,
    topics_entered: int = 0,
    posts_read: int = 0,
    minutes_read: int = 0,
    days_visited: int = 0,
) -> None:
    """Set a member's running reading totals (as forum.activity counts them), committed."""
    from forum.models.activity import UserStats

    stats = db.session.get(UserStats, user.id) or UserStats(user_id=user.id)
    stats.topics_entered = topics_entered
    stats.posts_read = posts_read
    stats.seconds_read = minutes_read * 60
    stats.days_visited = days_visited
    db.session.add(stats)
    db.session.commit()


def make_visits(user: User, days: int, *, posts_read: int = 0, ago: int = 0) -> None:
    """Visits on `days` consecutive days ending `ago` days before today, committed."""
    from datetime import timedelta

    from forum.models.activity import UserVisit
    from forum.models.base import utcnow

    today = utcnow().date()
    for n in range(ago, ago + days):
        db.session.add(
            UserVisit(user_id=user.id, day=today - timedelta(days=n), posts_read=posts_read)
        )
    db.session.commit()


def make_like(user: User, post: Post, *, days_ago: int = 0) -> None:
    """A like given `days_ago` days ago, written as a row (the post's count too), committed."""
    from datetime import timedelta

    from forum.models.activity import PostLike
    from forum.models.base import utcnow

    when = utcnow() - timedelta(days=days_ago)
    db.session.add(
        PostLike(post_id=post.id, user_id=user.id, author_id=post.author_id, created_at=when)
    )
    post.likes_count = Post.likes_count + 1
    db.session.commit()


def make_newcomer(group: Group | None = None) -> User:
    """A trust-level-0 member (of the group, if given; invitations alone give level 1)."""
    user = make_user()
    if group is not None:
        link = invitations.create_invitation(actor(owner_of(group)), group, max_uses=1)
        invitations.accept_invitation(actor(user), link.token)
    user.trust_level = 0
    db.session.commit()
    return user
