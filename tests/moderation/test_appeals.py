"""Appeals: once per action, decided by a different moderator."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from forum import policy
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.models.moderation import AppealState
from forum.models.moderation import SanctionState
from forum.models.modlog import ModerationLog
from forum.models.notifications import Notification
from forum.moderation import actions
from forum.moderation import appeals
from forum.moderation import sanctions
from tests import factories as f


def _hidden_post(db):
    mod = f.make_user(moderator=True)
    author = f.make_user(trust_level=1)
    post = f.make_post(f.make_topic(), author)
    actions.hide_post(f.actor(mod), post, reason="Rude.")
    db.session.commit()
    return mod, author, post


def test_author_appeals_a_hidden_post_once(db):
    mod, author, post = _hidden_post(db)
    made = appeals.appeal(f.actor(author), target_type="post", target_id=post.id, text="Unfair.")
    assert (made.acted_by_id, made.group_id, made.state) == (mod.id, None, AppealState.OPEN)
    with pytest.raises(Conflict):
        appeals.appeal(f.actor(author), target_type="post", target_id=post.id, text="Again.")


def test_only_the_member_actioned_may_appeal(db):
    _mod, _author, post = _hidden_post(db)
    with pytest.raises(NotFound):
        appeals.appeal(f.actor(f.make_user()), target_type="post", target_id=post.id, text="Hi.")


@pytest.mark.parametrize(
    ("target_type", "text"), [("topic", "Unfair."), ("post", ""), ("post", "x" * 2001)]
)
def test_bad_appeals_are_invalid(db, target_type, text):
    _mod, author, post = _hidden_post(db)
    with pytest.raises(Invalid):
        appeals.appeal(f.actor(author), target_type=target_type, target_id=post.id, text=text)


def test_a_visible_post_cannot_be_appealed(db):
    author = f.make_user()
    post = f.make_post(f.make_topic(), author)
    with pytest.raises(Invalid):
        appeals.appeal(f.actor(author), target_type="post", target_id=post.id, text="Why?")


def test_appeal_goes_to_a_different_moderator_who_grants_it(db):
    mod, author, post = _hidden_post(db)
    made = appeals.appeal(f.actor(author), target_type="post", target_id=post.id, text="Unfair.")
    db.session.commit()
    # The moderator who hid it does not even see the appeal.
    with pytest.raises(NotFound):
        policy.require_appeal(f.actor(mod), made.id)
    with pytest.raises(Denied):
        appeals.decide_appeal(f.actor(mod), made, grant=True, reason="Mine.")
    other = f.actor(f.make_user(moderator=True))
    assert policy.require_appeal(other, made.id) == made
    appeals.decide_appeal(other, made, grant=True, reason="It was fair criticism.")
    db.session.commit()
    assert made.state == AppealState.GRANTED and not post.is_hidden
    assert db.session.scalar(
        select(ModerationLog.id).where(ModerationLog.action == "appeal_granted")
    )
    told = db.session.scalars(
        select(Notification.text).where(
            Notification.user_id == author.id, Notification.kind == "appeal_decided"
        )
    ).all()
    assert told == ["Your appeal was granted. It was fair criticism."]
    with pytest.raises(Conflict):
        appeals.decide_appeal(other, made, grant=False, reason="Changed my mind.")


def test_appellant_cannot_decide_their_own_appeal(db):
    admin, other_mod = f.make_admin(), f.make_user(moderator=True)
    group = f.make_group(members=(other_mod,))
    # Silenced in one public group, the site moderator still moderates elsewhere.
    made_sanction = sanctions.silence_member(
        f.actor(admin), other_mod, group=group, days=2, reason="Rude."
    )
    db.session.commit()
    made = appeals.appeal(
        f.actor(other_mod), target_type="sanction", target_id=made_sanction.id, text="No."
    )
    with pytest.raises(Denied):
        appeals.decide_appeal(f.actor(other_mod), made, grant=True, reason="Me.")


def test_denied_sanction_appeal_keeps_it_and_granted_lifts_it(db):
    first, second = f.make_user(moderator=True), f.make_user(moderator=True)
    member, other = f.make_user(), f.make_user()
    kept = sanctions.silence_member(f.actor(first), member, group=None, days=3, reason="One.")
    lifted = sanctions.silence_member(f.actor(first), other, group=None, days=3, reason="Two.")
    db.session.commit()
    a = appeals.appeal(f.actor(member), target_type="sanction", target_id=kept.id, text="Hm.")
    b = appeals.appeal(f.actor(other), target_type="sanction", target_id=lifted.id, text="Hm.")
    appeals.decide_appeal(f.actor(second), a, grant=False, reason="It stands.")
    appeals.decide_appeal(f.actor(second), b, grant=True, reason="Fair point.")
    db.session.commit()
    assert kept.state == SanctionState.ACTIVE and member.is_silenced()
    assert lifted.state == SanctionState.LIFTED and not other.is_silenced()


def test_group_moderator_decides_appeals_in_their_group_only(db):
    group_mod, author = f.make_user(), f.make_user()
    group = f.make_group(moderators=(group_mod,), members=(author,))
    post = f.make_post(f.make_topic(f.make_board(group=group), author), author)
    actions.hide_post(f.actor(f.owner_of(group)), post, reason="Off.")
    made = appeals.appeal(f.actor(author), target_type="post", target_id=post.id, text="Pls.")
    db.session.commit()
    stranger_mod = f.make_user()
    f.make_group(moderators=(stranger_mod,))
    with pytest.raises(NotFound):
        policy.require_appeal(f.actor(stranger_mod), made.id)
    with pytest.raises(Denied):
        appeals.decide_appeal(f.actor(stranger_mod), made, grant=True, reason="Outside.")
    appeals.decide_appeal(f.actor(group_mod), made, grant=False, reason="Stays.")
    assert made.state == AppealState.DENIED


def test_appeal_page_lists_own_appeals(db):
    _mod, author, post = _hidden_post(db)
    appeals.appeal(f.actor(author), target_type="post", target_id=post.id, text="Unfair.")
    db.session.commit()
    assert [a.target_id for a in appeals.visible_appeal_page(f.actor(author)).items] == [post.id]
    assert appeals.visible_appeal_page(f.actor(f.make_user())).items == []
