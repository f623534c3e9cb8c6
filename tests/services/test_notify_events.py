"""Notifications about what members do: replies, quotes, likes, join requests.

Each goes only to members who may read the post, never to whoever acted, once per
recipient per post (the strongest reason), and names who acted only when read.
"""

from __future__ import annotations

from forum.models.notifications import Notification
from forum.services import data_rights
from forum.services import groups
from forum.services import likes
from forum.services import notifications
from forum.services import posts
from tests import factories as f


def _mine(user):
    return notifications.notifications(f.actor(user)).items


def _texts(user):
    items = _mine(user)
    shown = notifications.shown(f.actor(user), items)
    return [shown[n.id].text for n in items]


def test_reply_to_my_topic_notifies_the_opening_posts_author(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    topic = f.make_topic(author=ann, title="Sleep {name} tips")
    post = f.make_post(topic, bob)
    [found] = _mine(ann)
    assert (found.kind, found.post_id, found.actor_id) == ("topic_reply", post.id, bob.id)
    # Which topic, by its title as it is now (braces in it are only text).
    assert _texts(ann) == ["bob replied in your topic \u201cSleep {name} tips\u201d."]
    # The name and the title are never stored: only who acted, and the post.
    assert "bob" not in found.text and "Sleep" not in found.text
    assert _mine(bob) == []


def test_reply_to_my_post_notifies_once_with_the_stronger_reason(db):
    ann, bob, cat = f.make_user("ann"), f.make_user("bob"), f.make_user("cat")
    topic = f.make_topic(author=ann)
    bobs = f.make_post(topic, bob)
    f.make_post(topic, cat, reply_to=bobs)
    assert [n.kind for n in _mine(bob)] == ["reply"]
    assert [n.kind for n in _mine(ann)] == ["topic_reply", "topic_reply"]


def test_answering_the_topics_author_notifies_once_as_reply(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    topic = f.make_topic(author=ann)
    anns = f.make_post(topic, ann)
    f.make_post(topic, bob, reply_to=anns)
    assert [n.kind for n in _mine(ann)] == ["reply"]


def test_replying_to_myself_notifies_nobody(db):
    ann = f.make_user()
    topic = f.make_topic(author=ann)
    own = f.make_post(topic, ann)
    f.make_post(topic, ann, reply_to=own)
    assert _mine(ann) == []


def test_quote_notifies_the_quoted_author_once_as_quote(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    topic = f.make_topic(author=ann)
    first = f.make_post(topic, ann)
    body = f"> [ann wrote](/p/{first.id}):\n> the words\n\nI agree."
    f.make_post(topic, bob, body=body, reply_to=first)
    assert [n.kind for n in _mine(ann)] == ["quote"]


def test_quote_of_a_post_the_author_cannot_see_notifies_nobody(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    secret = f.make_group(secret=True, members=(ann,))
    hidden = f.make_post(f.make_topic(f.make_board(group=secret), ann), ann)
    f.make_post(f.make_topic(), bob, body=f"> [x](/p/{hidden.id}):\n> guessed")
    assert _mine(ann) == []


def test_no_notification_to_someone_who_cannot_read_the_post(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    group = f.make_group(secret=True, members=(ann, bob))
    topic = f.make_topic(f.make_board(group=group), ann)
    groups.remove_member(f.actor(f.owner_of(group)), group, ann.username)
    db.session.commit()
    f.make_post(topic, bob)
    assert db.session.query(Notification).filter_by(user_id=ann.id).count() == 0


def test_post_waiting_for_approval_notifies_nobody(db):
    ann = f.make_user("ann")
    group = f.make_group(members=(ann,))
    group.approve_first_posts = 1
    db.session.commit()
    topic = f.make_topic(f.make_board(group=group), ann)
    newcomer = f.make_newcomer(group)
    post = posts.reply_to_topic(f.actor(newcomer), topic, body="Hello there, all.")
    db.session.commit()
    assert post.is_hidden
    assert _mine(ann) == []


def test_likes_are_grouped_in_one_unread_notification_per_post(db):
    ann = f.make_user("ann")
    topic = f.make_topic(author=ann)
    post = f.make_post(topic, ann)
    likers = [f.make_user(f"liker{n}", trust_level=1) for n in range(3)]
    for liker in likers:
        likes.like_post(f.actor(liker), post)
        db.session.commit()
    [found] = _mine(ann)
    assert (found.kind, found.count, found.actor_id, found.post_id) == (
        "like",
        3,
        likers[-1].id,
        post.id,
    )
    # The likers are known to ann only if policy says so: none posted anywhere.
    assert _texts(ann) == ["Someone and 2 others liked your post."]
    notifications.mark_all_read(f.actor(ann))
    db.session.commit()
    fourth = f.make_user("liker3", trust_level=1)
    f.make_post(topic, fourth)
    likes.like_post(f.actor(fourth), post)
    db.session.commit()
    # Read ones stay as they were; a new unread one counts from here.
    assert [(n.kind, n.count) for n in _mine(ann)][:1] == [("like", 1)]
    assert _texts(ann)[0] == "liker3 liked your post."


def test_deleted_actor_shows_as_deleted_member(db):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    topic = f.make_topic(author=ann)
    f.make_post(topic, bob)
    data_rights.delete_account(f.actor(bob), bob, posts="keep")
    db.session.commit()
    assert _texts(ann) == [f"Deleted member replied in your topic \u201c{topic.title}\u201d."]


def test_join_request_notifies_owners_and_moderators_and_the_decision_the_asker(db):
    owner, mod, asker = f.make_user("owner"), f.make_user("mod"), f.make_user("asker")
    group = f.make_group("Walkers", owner=owner, moderators=(mod,))
    request = groups.request_to_join(f.actor(asker), group)
    db.session.commit()
    for decider in (owner, mod):
        [found] = _mine(decider)
        assert (found.kind, found.actor_id, found.group_id) == ("join_request", asker.id, group.id)
        shown = notifications.shown(f.actor(decider), [found])[found.id]
        assert shown.url == f"/g/{group.slug}/requests"
    groups.decide_join_request(f.actor(owner), group, request.id, accept=True)
    db.session.commit()
    [decided] = _mine(asker)
    assert decided.kind == "join_accepted"
    assert _texts(asker) == ["Your request to join Walkers was accepted."]


def test_declined_join_request_tells_the_asker(db):
    owner, asker = f.make_user("owner"), f.make_user("asker")
    group = f.make_group("Walkers", owner=owner)
    request = groups.request_to_join(f.actor(asker), group)
    db.session.commit()
    groups.decide_join_request(f.actor(owner), group, request.id, accept=False)
    db.session.commit()
    assert _texts(asker) == ["Your request to join Walkers was declined."]


def test_taking_a_like_back_counts_it_out_of_the_unread_notification(db):
    ann = f.make_user("ann")
    post = f.make_post(f.make_topic(author=ann), ann)
    early, first, second = (f.make_user(f"liker{n}", trust_level=1) for n in range(3))
    likes.like_post(f.actor(early), post)
    db.session.commit()
    notifications.mark_all_read(f.actor(ann))
    db.session.commit()
    for liker in (first, second):
        likes.like_post(f.actor(liker), post)
        db.session.commit()
    # A like ann already read about stays counted in the read notification only.
    likes.unlike_post(f.actor(early), post)
    db.session.commit()
    assert [(n.count, n.actor_id) for n in _mine(ann) if n.read_at is None] == [(2, second.id)]
    # The named liker takes theirs back: one left, named by the latest liker left.
    likes.unlike_post(f.actor(second), post)
    db.session.commit()
    assert [(n.count, n.actor_id) for n in _mine(ann) if n.read_at is None] == [(1, first.id)]
    assert notifications.unread_count(f.actor(ann)) == 1
    # Nothing left: the unread notification goes, and so does the header's flag.
    likes.unlike_post(f.actor(first), post)
    db.session.commit()
    assert [n.read_at is None for n in _mine(ann)] == [False]
    db.session.refresh(ann)
    assert ann.has_unread_notifications is False
    assert notifications.unread_count(f.actor(ann)) == 0


def test_approving_a_held_post_notifies_as_if_posted_then(db):
    from forum.moderation import actions

    ann, watcher, quoted = f.make_user("ann"), f.make_user("watcher"), f.make_user("quoted")
    group = f.make_group(members=(ann, watcher, quoted))
    group.approve_first_posts = 1
    db.session.commit()
    topic = f.make_topic(f.make_board(group=group), ann)
    first = f.make_post(topic, quoted)
    from forum.models.notifications import WatchScope
    from forum.services import watching

    watching.set_watch_level(f.actor(watcher), WatchScope.TOPIC, topic.id, "watching")
    db.session.commit()
    before = {u.id: len(_mine(u)) for u in (ann, watcher, quoted)}
    newcomer = f.make_newcomer(group)
    newcomer.username = "newbie"
    body = f"> [quoted wrote](/p/{first.id}):\n> hi\n\nThanks @ann, agreed."
    post = posts.reply_to_topic(f.actor(newcomer), topic, body=body, reply_to=first.id)
    db.session.commit()
    assert post.is_hidden
    # Held: nobody is told yet.
    assert {u.id: len(_mine(u)) for u in (ann, watcher, quoted)} == before
    assert actions.approve_post(f.actor(f.owner_of(group)), post)
    db.session.commit()
    told = {
        u.username: [(n.kind, n.actor_id) for n in _mine(u) if n.post_id == post.id]
        for u in (ann, watcher, quoted)
    }
    assert told == {
        "ann": [("mention", newcomer.id)],
        "watcher": [("watched_post", newcomer.id)],
        "quoted": [("quote", newcomer.id)],
    }
    # Approving again changes nothing and tells nobody twice.
    assert not actions.approve_post(f.actor(f.owner_of(group)), post)
    db.session.commit()
    assert sum(n.post_id == post.id for n in _mine(ann)) == 1
