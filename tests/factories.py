"""Plain keyword-argument factories that build data through the app's own services."""

from __future__ import annotations

import itertools

from forum.extensions import db
from forum.models.boards import Board
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import Actor
from forum.policy import actor_for
from forum.services import accounts
from forum.services import boards
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
    name: str | None = None, *, description: str = "", parent: Board | None = None
) -> Board:
    """A board, created by an admin, committed."""
    board = boards.create_board(
        _admin_actor(),
        name=name or f"Board {next(_counter)}",
        description=description,
        parent_id=parent.id if parent else None,
    )
    db.session.commit()
    return board


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
