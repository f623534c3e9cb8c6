"""Role labels on pages: beside names on topic pages, profiles and member lists, the
forms that give them and the holder's toggle, and what they cost a topic page."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from forum.extensions import db
from forum.models.users import User
from forum.services import labels
from tests import factories

BADGE = '<span class="role"><span class="visually-hidden">role: </span>{}</span>'


def test_site_label_shows_beside_the_name_on_posts_and_profile(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    member = factories.make_user("helper")
    topic = factories.make_topic(author=member)
    login_as(factories.make_admin("boss"))
    assert client.get(f"/t/{topic.id}").text.count("role: ") == 0
    saved = client.post("/u/helper/label", data={"label_scope": "site", "label": "Peer supporter"})
    assert saved.status_code == 302
    assert BADGE.format("Peer supporter") in client.get(f"/t/{topic.id}").text
    assert BADGE.format("Peer supporter") in client.get("/u/helper").text


def test_members_cannot_give_labels_from_a_profile(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    member = factories.make_user("helper")
    login_as(member)
    assert 'name="label"' not in client.get("/u/helper").text
    refused = client.post("/u/helper/label", data={"label_scope": "site", "label": "Doctor"})
    assert refused.status_code == 403
    db.session.refresh(member)
    assert member.label is None


def test_group_label_shows_inside_the_group_only_and_can_be_hidden(
    client: FlaskClient, login_as: Callable[[User], FlaskClient]
) -> None:
    member = factories.make_user("mentor")
    group = factories.make_group(members=(member,))
    inside = factories.make_topic(factories.make_board(group=group), member)
    outside = factories.make_topic(author=member)
    owner = factories.owner_of(group)
    login_as(owner)
    saved = client.post(
        "/u/mentor/label", data={"label_scope": group.slug, "label": "Drug and alcohol worker"}
    )
    assert saved.status_code == 302
    badge = BADGE.format("Drug and alcohol worker")
    assert badge in client.get(f"/t/{inside.id}").text
    assert badge in client.get(f"/g/{group.slug}").text
    assert badge in client.get(f"/g/{group.slug}/members").text
    assert "Drug and alcohol worker" not in client.get(f"/t/{outside.id}").text
    # The profile shows the site label only (the owner sees the group one in its form).
    assert badge not in client.get("/u/mentor").text
    login_as(member)
    page = client.get(f"/g/{group.slug}").text
    assert "Hide it here" in page
    assert client.post(f"/g/{group.slug}/label", data={"shown": "no"}).status_code == 302
    assert "Show it here" in client.get(f"/g/{group.slug}").text
    assert badge not in client.get(f"/t/{inside.id}").text


def test_a_group_topic_page_pays_one_query_for_labels_only_when_someone_has_one(
    client: FlaskClient, login_as: Callable[[User], FlaskClient], count_statements
) -> None:
    authors = [factories.make_user() for _ in range(5)]
    group = factories.make_group(members=tuple(authors))
    topic = factories.make_topic(factories.make_board(group=group), authors[0])
    for author in authors[1:]:
        factories.make_post(topic, author)
    labels.set_label(factories.actor(factories.make_admin()), authors[1], label="Site helper")
    db.session.commit()
    login_as(authors[2])

    def queries() -> list[str]:
        count_statements.statements.clear()
        client.get(f"/t/{topic.id}")
        return [q for q in count_statements.queries if "memberships.hide_label" in q]

    assert queries() == []  # a site label comes with the names: nothing more to ask
    owner = factories.actor(factories.owner_of(group))
    labels.set_label(owner, authors[3], label="Peer mentor", group=group)
    db.session.commit()
    assert len(queries()) == 1
    page = client.get(f"/t/{topic.id}").text
    assert "Peer mentor" in page and "Site helper" in page
