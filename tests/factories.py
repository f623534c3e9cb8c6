"""Plain keyword-argument factories that build data through the app's own services."""

from __future__ import annotations

import itertools

from forum.extensions import db
from forum.models.boards import Board
from forum.models.groups import Group
from forum.models.groups import Membership
from forum.models.groups import Role
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
