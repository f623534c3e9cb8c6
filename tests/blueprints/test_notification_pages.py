"""The notifications page names who acted as the reader may see them, and links to the
exact post (or the group's requests)."""

from __future__ import annotations

from sqlalchemy import select

from forum.extensions import db as database
from forum.models.posts import Post
from forum.services import groups
from forum.services import notifications
from tests import factories as f


def topic_first_post(topic):
    return database.session.scalar(select(Post).where(Post.topic_id == topic.id, Post.number == 1))


def test_reply_notification_names_the_replier_and_links_the_post(db, client, login_as):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    topic = f.make_topic(author=ann, title="Tea & <b>toast</b>")
    post = f.make_post(topic, bob)
    login_as(ann)
    page = client.get("/notifications").get_data(as_text=True)
    # The title as text (escaped), looked up when shown.
    title = "Tea &amp; &lt;b&gt;toast&lt;/b&gt;"
    assert f'<a href="/p/{post.id}">bob replied in your topic \u201c{title}\u201d.</a>' in page
    # /p/<id> lands on the topic's page, at the post.
    landing = client.get(f"/p/{post.id}")
    assert landing.status_code == 302
    assert landing.headers["Location"].endswith(f"/t/{topic.id}?page=1#p{post.id}") or (
        f"#p{post.id}" in landing.headers["Location"]
    )


def test_join_request_notification_links_the_requests_page(db, client, login_as):
    owner, asker = f.make_user("owner"), f.make_user("asker")
    group = f.make_group("Walkers", owner=owner)
    groups.request_to_join(f.actor(asker), group)
    db.session.commit()
    login_as(owner)
    page = client.get("/notifications").get_data(as_text=True)
    assert f'<a href="/g/{group.slug}/requests">asker asks to join Walkers.</a>' in page


def test_quote_action_fills_the_reply_form_and_posting_it_notifies_the_quoted(db, client, login_as):
    ann, bob = f.make_user("ann"), f.make_user("bob", trust_level=1)
    topic = f.make_topic(author=ann, body="Walking helps me most days.")
    first = topic_first_post(topic)
    login_as(bob)
    shown = client.get(f"/t/{topic.id}").get_data(as_text=True)
    assert f'<a href="/p/{first.id}/reply?quote=1">Quote</a>' in shown
    form = client.get(f"/p/{first.id}/reply?quote=1").get_data(as_text=True)
    quote = f"&gt; [ann wrote](/p/{first.id}):\n&gt; Walking helps me most days."
    assert quote in form
    body = f"> [ann wrote](/p/{first.id}):\n> Walking helps me most days.\n\nMe too."
    client.post(f"/t/{topic.id}/reply", data={"body": body, "reply_to": str(first.id)})
    [found] = notifications.notifications(f.actor(ann)).items
    assert found.kind == "quote"


def test_author_is_told_when_mentioned_people_cannot_see_the_topic(db, client, login_as):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    f.make_post(f.make_topic(author=ann), ann)
    secret = f.make_group(secret=True, members=(bob,))
    topic = f.make_topic(f.make_board(group=secret), bob)
    login_as(bob)
    answer = client.post(f"/t/{topic.id}/reply", data={"body": "@ann look"})
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Some people you mentioned can&#39;t see this topic and were not told." in page


def test_watch_control_on_topic_board_and_group_pages(db, client, login_as):
    ann = f.make_user("ann")
    group = f.make_group("Walkers", members=(ann,))
    board = f.make_board(group=group)
    topic = f.make_topic(board, ann)
    topic_id, board_id, slug = topic.id, board.id, group.slug
    login_as(ann)
    for page, action in (
        (f"/t/{topic_id}", f"/t/{topic_id}/watch"),
        (f"/b/{board_id}", f"/b/{board_id}/watch"),
        (f"/g/{slug}", f"/g/{slug}/watch"),
    ):
        html = client.get(page).get_data(as_text=True)
        assert f'action="{action}"' in html
        assert '<option value="tracking" selected>' in html
    answer = client.post(f"/t/{topic_id}/watch", data={"level": "muted"})
    assert answer.status_code == 302
    html = client.get(f"/t/{topic_id}").get_data(as_text=True)
    assert '<option value="muted" selected>' in html
    assert "Muted: you will not be told of anything here." in html


def test_watch_form_for_a_hidden_topic_is_not_found(db, client, login_as):
    ann = f.make_user("ann")
    secret = f.make_group(secret=True)
    topic = f.make_topic(f.make_board(group=secret), f.owner_of(secret))
    topic_id = topic.id
    login_as(ann)
    assert client.post(f"/t/{topic_id}/watch", data={"level": "watching"}).status_code == 404


def test_account_page_sets_preferences_per_kind(db, client, login_as):
    ann, bob = f.make_user("ann"), f.make_user("bob")
    login_as(ann)
    page = client.get("/account").get_data(as_text=True)
    assert 'name="reply.in_app" value="1" checked' in page
    form = {f"{kind}.email": "never" for kind in notifications.PREFERENCE_KINDS}
    form.update({f"{kind}.in_app": "1" for kind in notifications.PREFERENCE_KINDS})
    del form["topic_reply.in_app"]
    form["mention.email"] = "digest"
    assert client.post("/account/notifications", data=form).status_code == 302
    page = client.get("/account").get_data(as_text=True)
    assert 'name="topic_reply.in_app" value="1">' in page
    assert '<option value="digest" selected>' in page
    f.make_post(f.make_topic(author=ann), bob)
    assert notifications.notifications(f.actor(ann)).items == []
