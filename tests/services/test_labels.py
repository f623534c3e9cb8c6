"""Role labels: who gives them, where they show, the holder's choice, the log, removal."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forum import listings
from forum import policy
from forum.errors import Denied
from forum.errors import Invalid
from forum.extensions import db
from forum.models.groups import Membership
from forum.models.modlog import Action
from forum.models.modlog import ModerationLog
from forum.models.topics import Topic
from forum.services import groups
from forum.services import labels
from tests import factories as f


def _membership(group, user) -> Membership:
    return db.session.scalar(
        select(Membership).where(Membership.group_id == group.id, Membership.user_id == user.id)
    )


def _log(user) -> list[tuple[str, int | None, str]]:
    rows = db.session.scalars(
        select(ModerationLog)
        .where(
            ModerationLog.target_type == "user",
            ModerationLog.target_id == user.id,
            ModerationLog.action.in_([Action.LABEL_SET, Action.LABEL_REMOVED]),
        )
        .order_by(ModerationLog.id)
    )
    return [(row.action, row.group_id, row.data) for row in rows]


def test_admin_gives_a_site_label_shown_everywhere_and_logged(db):
    admin, member = f.make_admin(), f.make_user()
    group = f.make_group(members=(member,))
    assert labels.set_label(f.actor(admin), member, label="  Peer supporter ", reason="Trained")
    assert not labels.set_label(f.actor(admin), member, label="Peer supporter")
    db.session.commit()
    assert member.label == "Peer supporter"
    assert policy.shown_label(member, None) == "Peer supporter"
    # Inside a group without a label of its own, the site label shows too.
    assert policy.shown_label(member, _membership(group, member)) == "Peer supporter"
    assert labels.set_label(f.actor(admin), member, label="")
    db.session.commit()
    assert member.label is None
    log = _log(member)
    assert [(action, group_id) for action, group_id, _ in log] == [
        (Action.LABEL_SET, None),
        (Action.LABEL_REMOVED, None),
    ]
    assert '"after": "Peer supporter"' in log[0][2]


@pytest.mark.parametrize("who", ["owner", "member", "moderator", "site_moderator", "self"])
def test_only_admins_give_site_labels(db, who):
    member = f.make_user()
    group = f.make_group(members=(member,))
    giver = {
        "owner": lambda: f.owner_of(group),
        "member": lambda: f.make_user(trust_level=4),
        "moderator": lambda: f.make_user(moderator=True),
        "site_moderator": lambda: f.make_user(moderator=True, trust_level=4),
        "self": lambda: member,
    }[who]()
    assert not policy.can_set_label(f.actor(giver), member, None)
    with pytest.raises(Denied):
        labels.set_label(f.actor(giver), member, label="Professional")


def test_admins_cannot_label_themselves(db):
    admin = f.make_admin()
    assert not policy.can_set_label(f.actor(admin), admin, None)
    assert policy.can_set_label(f.actor(f.make_admin()), admin, None)
    # The refusal says why, rather than "only admins" to an admin.
    with pytest.raises(Denied, match="Nobody gives themselves a role label"):
        policy.check_set_label(f.actor(admin), admin, None)
    # Trust levels vouch the same way, in their own words.
    with pytest.raises(Denied, match="Nobody sets their own trust level"):
        policy.check_grant_trust(f.actor(admin), admin, None)


def test_group_owner_labels_their_members_inside_the_group_only(db):
    member, outsider = f.make_user(), f.make_user()
    group = f.make_group(members=(member,), secret=True)
    owner = f.actor(f.owner_of(group))
    f.make_group(members=(outsider,))
    assert policy.can_set_label(owner, member, group)
    assert labels.set_label(owner, member, label="Drug and alcohol worker", group=group)
    db.session.commit()
    # Not the site label: outside the group nothing shows.
    assert member.label is None and member.group_labels
    assert policy.shown_label(member, None) is None
    assert policy.shown_label(member, _membership(group, member)) == "Drug and alcohol worker"
    assert _log(member)[0][:2] == (Action.LABEL_SET, group.id)
    # Denied: a non-member, a plain member of the group, another group's owner.
    assert not policy.can_set_label(owner, outsider, group)
    assert not policy.can_set_label(f.actor(member), f.owner_of(group), group)
    assert not policy.can_set_label(f.actor(f.owner_of(f.make_group())), member, group)
    # An admin manages a secret group only after breaking the glass.
    assert not policy.can_set_label(f.actor(f.make_admin()), member, group)
    with pytest.raises(Denied):
        labels.set_label(owner, outsider, label="Mentor", group=group)


def test_the_group_label_wins_inside_the_group_and_the_holder_may_hide_it(db):
    member = f.make_user()
    group = f.make_group(members=(member,))
    labels.set_label(f.actor(f.make_admin()), member, label="Probation officer")
    labels.set_label(f.actor(f.owner_of(group)), member, label="Peer mentor", group=group)
    db.session.commit()
    assert listings.author_labels(group.id, [member]) == {member.id: "Peer mentor"}
    assert listings.author_labels(None, [member]) == {member.id: "Probation officer"}
    mine = f.actor(member)
    assert labels.my_label(mine, group) == labels.MyLabel("Peer mentor", True)
    assert labels.show_label(mine, group, shown=False)
    assert not labels.show_label(mine, group, shown=False)
    db.session.commit()
    # Hidden in the group: neither label shows there; the site label still shows elsewhere.
    assert listings.author_labels(group.id, [member]) == {}
    assert listings.author_labels(None, [member]) == {member.id: "Probation officer"}
    assert labels.my_label(mine, group) == labels.MyLabel("Peer mentor", False)
    # Only the group's members choose (allow above, deny here).
    with pytest.raises(Denied):
        labels.show_label(f.actor(f.make_user()), group, shown=False)


def test_removal_drops_the_group_label(db):
    member = f.make_user()
    group = f.make_group(members=(member,))
    owner = f.actor(f.owner_of(group))
    labels.set_label(owner, member, label="Peer mentor", group=group)
    db.session.commit()
    groups.remove_member(owner, group, member.username)
    db.session.commit()
    assert _membership(group, member) is None
    assert listings.author_labels(group.id, [member]) == {}


def test_labels_are_plain_text_on_one_line_up_to_60(db):
    admin, member = f.actor(f.make_admin()), f.make_user()
    for bad in ("x" * 61, "Peer\nsupporter", 5, "a\u202eb"):
        with pytest.raises(Invalid) as exc:
            labels.set_label(admin, member, label=bad)
        assert "label" in exc.value.fields
    assert labels.set_label(admin, member, label="<b>Helper</b> & co")
    assert member.label == "<b>Helper</b> & co"


def test_a_label_change_retires_cached_topic_pages(db):
    member = f.make_user()
    group = f.make_group(members=(member,))
    site_topic = f.make_topic(author=member)
    group_topic = f.make_topic(f.make_board(group=group), member)
    before = {t.id: t.revision for t in (site_topic, group_topic)}
    labels.set_label(f.actor(f.owner_of(group)), member, label="Peer mentor", group=group)
    db.session.commit()
    db.session.expire_all()
    after = {t.id: db.session.get(Topic, t.id).revision for t in (site_topic, group_topic)}
    # The group's label shows on the group's topics only: only they are rendered again.
    assert after[site_topic.id] == before[site_topic.id]
    assert after[group_topic.id] == before[group_topic.id] + 1
    labels.set_label(f.actor(f.make_admin()), member, label="Mentor")
    db.session.commit()
    db.session.expire_all()
    assert db.session.get(Topic, site_topic.id).revision == before[site_topic.id] + 1


def test_deleted_accounts_show_no_label(db):
    member = f.make_user()
    member.label = "Peer supporter"
    member.deleted_at = member.created_at
    assert policy.shown_label(member, None) is None
