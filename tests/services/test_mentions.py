"""@mentions: a link only to members the author may see, a notification only to those
who can read the post, and nothing that tells an unknown name from a hidden one."""

from __future__ import annotations

from sqlalchemy import select

from forum.extensions import db as database
from forum.models.notifications import Notification
from forum.models.posts import Post
from forum.rendering import mentioned_names
from forum.rendering import render_markdown
from forum.services import notifications
from forum.services import posts
from tests import factories as f


def _kinds(user):
    return [n.kind for n in notifications.notifications(f.actor(user)).items]


def test_mentioned_names_skip_code_addresses_and_repeats():
    source = "hi @Ann, @ann and @bob_2; mail x@cat.org `@dan` @no\n```\n@eve\n```\n"
    assert mentioned_names(source) == ["ann", "bob_2"]


def test_only_allowed_names_become_links_and_never_inside_links_or_code():
    html = render_markdown("@ann @bob [@ann](/x) `@ann`", mentions={"ann"})
    assert html.count('href="/u/ann"') == 1
    assert "@bob" in html and "/u/bob" not in html
    assert "<code>@ann</code>" in html


def test_mention_links_and_notifies_a_visible_member(db):
    # Level 1: a new member's posts have no links at all, mentions included (they still
    # notify).
    ann, bob = f.make_user("ann"), f.make_user("bob", trust_level=1)
    topic = f.make_topic(author=bob)
    f.make_post(topic, ann)  # ann has posted publicly: bob may see her
    post = f.make_post(topic, bob, body="Thanks @ann, that helped.")
    assert 'href="/u/ann"' in post.html
    assert _kinds(ann) == ["mention"]


def test_mention_and_reply_and_quote_notify_once_as_mention(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    topic = f.make_topic(author=ann)
    first = f.make_post(topic, ann)
    body = f"> [ann wrote](/p/{first.id}):\n> hi\n\n@ann yes"
    f.make_post(topic, bob, body=body, reply_to=first)
    assert _kinds(ann) == ["mention"]


def test_mention_of_a_secret_group_member_links_nothing_and_tells_nobody(db):
    insider = f.make_user("insider")
    known = f.make_user("known")
    secret = f.make_group(secret=True, members=(insider,))
    f.make_post(f.make_topic(f.make_board(group=secret), insider), insider)
    outsider = f.make_user("outsider", trust_level=1)
    topic = f.make_topic(author=known)
    hidden = posts.reply_to_topic(f.actor(outsider), topic, body="hello @insider")
    unknown = posts.reply_to_topic(f.actor(outsider), topic, body="hello @nobody99")
    database.session.commit()
    assert "/u/" not in hidden.html and "@insider" in hidden.html
    # The same answer as for a name nobody has.
    assert hidden.html.replace("insider", "X") == unknown.html.replace("nobody99", "X")
    assert notifications.unreached_mentions(hidden) == 0
    count = database.session.scalar(
        select(Notification.id).where(Notification.user_id == insider.id).limit(1)
    )
    assert count is None


def test_mention_of_someone_who_cannot_read_the_topic_is_counted_not_named(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    f.make_post(f.make_topic(author=ann), ann)  # public: bob knows ann
    secret = f.make_group(secret=True, members=(bob,))
    topic = f.make_topic(f.make_board(group=secret), bob)
    post = posts.reply_to_topic(f.actor(bob), topic, body="@ann would like this")
    database.session.commit()
    # bob may see ann, so her name links; she cannot read the post, so she is not told.
    assert 'href="/u/ann"' in post.html
    assert notifications.unreached_mentions(post) == 1
    assert _kinds(ann) == []


def test_at_most_ten_mentions_notify(db):
    author = f.make_user("author", trust_level=1)
    topic = f.make_topic(author=author)
    people = [f.make_user(f"person{n:02}") for n in range(12)]
    for person in people:
        f.make_post(topic, person)
    body = " ".join(f"@{p.username}" for p in people)
    post = f.make_post(topic, author, body=body)
    told = database.session.scalars(
        select(Notification.user_id).where(
            Notification.post_id == post.id, Notification.kind == "mention"
        )
    ).all()
    assert sorted(told) == sorted(p.id for p in people[:10])
    # Every name the author may see still links.
    assert post.html.count('href="/u/person') == 12


def test_topic_opening_post_mentions_notify(db):
    ann, bob = f.make_user("ann"), f.make_user("bob", trust_level=1)
    f.make_post(f.make_topic(author=ann), ann)
    topic = f.make_topic(author=bob, body="Hello @ann, welcome.")
    first = database.session.scalar(select(Post).where(Post.topic_id == topic.id))
    assert 'href="/u/ann"' in first.html
    assert _kinds(ann) == ["mention"]


def test_rerendering_keeps_mention_links_and_links_no_one_hidden(db):
    from forum.maintenance import rerender_stale_posts
    from forum.rendering import RENDERER_VERSION

    ann, bob = f.make_user("ann"), f.make_user("bob", trust_level=1)
    insider = f.make_user("insider")
    secret = f.make_group(secret=True, members=(insider,))
    f.make_post(f.make_topic(f.make_board(group=secret), insider), insider)
    topic = f.make_topic(author=bob)
    f.make_post(topic, ann)
    post = f.make_post(topic, bob, body="Thanks @ann and @insider.")
    post.renderer_version = RENDERER_VERSION - 1
    database.session.commit()
    assert rerender_stale_posts() >= 1
    database.session.refresh(post)
    assert 'href="/u/ann"' in post.html and "/u/insider" not in post.html


def test_new_members_mentions_are_plain_text_and_still_notify(db):
    # Trust level 0: no links in the post at all (a spam rule), mentions included; the
    # mentioned member is told all the same.
    ann, newcomer = f.make_user("ann"), f.make_user("newbie", trust_level=0)
    topic = f.make_topic(author=newcomer)
    f.make_post(topic, ann)
    post = posts.reply_to_topic(f.actor(newcomer), topic, body="Thanks @ann, that helped.")
    database.session.commit()
    assert "@ann" in post.html and "/u/ann" not in post.html
    assert _kinds(ann) == ["mention"]
