"""The moderation log in words: every action a sentence, naming only what the reader sees."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from sqlalchemy import insert
from sqlalchemy import select

from forum import audit
from forum import policy
from forum.audit import Action
from forum.models.modlog import ModerationLog
from forum.moderation import actions
from forum.moderation import appointments
from forum.moderation import log
from forum.moderation import sanctions
from forum.moderation import sentences
from forum.services import groups as group_service
from tests import factories as f

FORUM = Path(__file__).resolve().parents[2] / "forum"


def _action_names(expr: ast.expr) -> set[str] | None:
    """The `Action` members an argument names (`Action.X`, or `Action.X if c else
    Action.Y`); None if it is anything else (a string literal, a variable)."""
    if (
        isinstance(expr, ast.Attribute)
        and isinstance(expr.value, ast.Name)
        and expr.value.id == "Action"
    ):
        return {expr.attr}
    if isinstance(expr, ast.IfExp):
        body, other = _action_names(expr.body), _action_names(expr.orelse)
        return body | other if body is not None and other is not None else None
    return None


def _record_calls() -> list[tuple[str, ast.Call]]:
    """Every `record(...)` call in the code, and where it is."""
    found = []
    for path in FORUM.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
            if name in ("record", "log_action"):
                found.append((f"{path.relative_to(FORUM)}:{node.lineno}", node))
    return found


def test_every_log_row_names_an_action_of_the_enum():
    """The log's writer is called with `Action` members (or passes one on), so the enum
    lists every action the code writes."""
    written: set[str] = set()
    loose = []
    for where, call in _record_calls():
        if isinstance(call.func, ast.Attribute) and call.func.attr == "record":
            owner = call.func.value
            if not (isinstance(owner, ast.Name) and owner.id == "audit"):
                continue  # another class's `record` (the throttle's)
        if len(call.args) < 2:
            loose.append(where)
            continue
        names = _action_names(call.args[1])
        passed_on = isinstance(call.args[1], ast.Name) and call.args[1].id == "action"
        if names is None and passed_on and where.startswith("moderation/actions.py"):
            names = set()  # `_topic_action` passes its `action: Action` parameter on
        if names is None:
            loose.append(where)
        else:
            written |= names
    tree = ast.parse((FORUM / "moderation" / "actions.py").read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "_topic_action":
            given = [_action_names(k.value) for k in node.keywords if k.arg == "action"]
            if given and given[0] is not None:
                written |= given[0]
            else:
                loose.append(f"moderation/actions.py:{node.lineno}")
    assert loose == [], f"log rows written without an Action member: {loose}"
    assert written <= set(Action.__members__)
    assert {"CREATE_GROUP", "POST_HIDDEN", "MEMBER_SILENCED", "UNDO"} <= written
    # Nobody writes the log but `forum.audit.record`: the second writer is gone.
    assert not [w for w, c in _record_calls() if getattr(c.func, "id", "") == "log_action"]


def test_every_action_has_a_sentence_and_every_sentence_an_action():
    assert set(sentences._SENTENCES) == set(Action)


def test_the_model_refuses_an_action_outside_the_enum(db):
    with pytest.raises(ValueError, match="not a valid Action"):
        audit.record(
            policy.SYSTEM,
            "made_up",  # type: ignore[arg-type]
            rank=policy.RANK_NONE,
            target_type="user",
            target_id=1,
            group=None,
        )


def test_an_old_row_with_a_name_no_longer_written_still_reads(db):
    """`add_member` was written before the group doors; its rows still read as words."""
    admin, member = f.make_admin("old_admin"), f.make_user("old_member")
    group = f.make_group("Old circle", slug="old-circle", owner=admin, members=(member,))
    entry = audit.record(
        f.actor(admin),
        Action.ADD_MEMBER,
        rank=policy.RANK_ADMIN,
        target_type="user",
        target_id=member.id,
        group=group,
        reason="moderator",
    )
    db.session.commit()
    line = _line(f.actor(admin), entry)
    assert line.text == "old_admin added old_member to the group as a moderator."
    assert line.reason == ""


def _line(actor, entry: ModerationLog) -> sentences.Line:
    return sentences.log_lines(actor, [entry])[entry.id]


def _last(db, action: str) -> ModerationLog:
    return db.session.scalar(
        select(ModerationLog)
        .where(ModerationLog.action == action)
        .order_by(ModerationLog.id.desc())
        .limit(1)
    )


def test_group_lines_read_as_sentences_without_fake_reasons(db):
    """ "sam_admin create group group 2" and "Reason: moderator" were the old lines."""
    owner, member = f.make_user("circle_owner"), f.make_user("quiet_one")
    group = f.make_group("Recovery circle", slug="recovery", owner=owner, members=(member,))
    group_service.set_member_role(f.actor(owner), group, "quiet_one", role="moderator")
    group_service.update_group_moderation(
        f.actor(owner), group, log_visible_to_members=True, approve_first_posts=3
    )
    db.session.commit()
    reader = f.actor(owner)
    created = _line(reader, _last(db, "create_group"))
    assert created.text == "The forum created the group Recovery circle."
    role = _line(reader, _last(db, "set_role"))
    assert role.text == "circle_owner made quiet_one a moderator."
    assert role.reason == ""
    settings = _line(reader, _last(db, "group_settings_changed"))
    assert settings.text == (
        "circle_owner opened the moderation log to all members and "
        "set new members' first 3 posts to wait for approval."
    )
    assert settings.reason == ""
    # Links are parts, not text: the template makes them.
    assert sentences.Ref("quiet_one", "user", "quiet_one") in role.parts


def test_post_and_topic_lines_name_the_topic_and_show_a_given_reason(db):
    moderator = f.make_user("peer_mod", moderator=True)
    topic = f.make_topic(f.make_board("Lounge"), title="Evenings are hard")
    post = f.make_post(topic, f.make_user())
    mod = f.actor(moderator)
    actions.hide_post(mod, post, reason="Personal details.")
    actions.lock_topic(mod, topic, reason="Heated")
    actions.set_slow_mode(mod, topic, minutes=5, reason="Cooling down")
    db.session.commit()
    hidden = _line(mod, _last(db, "post_hidden"))
    assert hidden.text == "peer_mod hid a post in “Evenings are hard”."
    assert hidden.reason == "Personal details."
    assert sentences.Ref("Evenings are hard", "post", post.id) in hidden.parts
    assert _line(mod, _last(db, "topic_locked")).text == (
        "peer_mod locked the topic “Evenings are hard”."
    )
    assert _line(mod, _last(db, "slow_mode_set")).text == (
        "peer_mod set slow mode in the topic “Evenings are hard”: one post per member "
        "every 5 minutes."
    )
    log.undo(mod, _last(db, "topic_locked"), reason="Calmer now")
    db.session.commit()
    assert _line(mod, _last(db, "undo")).text == (
        "peer_mod undid the locking of the topic “Evenings are hard”."
    )


def test_sanction_and_appointment_lines_name_the_member(db):
    admin = f.make_admin("sam_admin")
    member = f.make_user("loud_voice")
    f.make_post(f.make_topic(), member)  # a shared context: their posts can be read
    boss = f.actor(admin)
    sanction = sanctions.silence_member(boss, member, group=None, days=3, reason="Shouting.")
    sanctions.lift_sanction(boss, sanction, reason="Apologised.")
    appointments.appoint_site_moderator(boss, member, on=True, reason="Trusted.")
    db.session.commit()
    assert _line(boss, _last(db, "member_silenced")).text == (
        "sam_admin silenced loud_voice for 3 days."
    )
    assert _line(boss, _last(db, "sanction_lifted")).text == (
        "sam_admin lifted the silence on loud_voice."
    )
    assert _line(boss, _last(db, "site_moderator_appointed")).text == (
        "sam_admin made loud_voice a site moderator."
    )


def test_a_topic_moved_into_a_secret_group_is_not_named_outside_it(db):
    """The site's half of the move says where from, never the secret board or the title."""
    site_mod = f.make_user("site_mod", moderator=True)
    owner = f.make_user("circle_owner")
    secret = f.make_group("Hidden circle", secret=True, owner=owner, members=(site_mod,))
    inside = f.make_board("Inner room", group=secret)
    topic = f.make_topic(f.make_board("Lounge"), title="Private matter")
    # A site moderator who moderates the secret group too may make the move.
    group_service.set_member_role(f.actor(owner), secret, "site_mod", role="moderator")
    db.session.commit()
    mover = policy.actor_for(site_mod, guests_read=False)
    assert actions.move_topic(
        mover, topic, inside, reason="Belongs inside", confirm_group_change=True
    )
    db.session.commit()
    outsider = f.actor(f.make_user("other_mod", moderator=True))
    site_row = db.session.scalar(
        select(ModerationLog).where(
            ModerationLog.action == "topic_moved", ModerationLog.group_id.is_(None)
        )
    )
    line = _line(outsider, site_row)
    assert line.text == "site_mod moved a topic from “Lounge” to another board."
    assert "Private matter" not in line.text and "Inner room" not in line.text
    insider_line = _line(mover, site_row)
    assert insider_line.text == (
        "site_mod moved the topic “Private matter” from “Lounge” to “Inner room”."
    )


def test_lines_by_someone_the_reader_does_not_know_say_a_moderator(db):
    """A group moderator who never posted where the reader reads stays unnamed."""
    owner, writer = f.make_user("public_owner"), f.make_user("writer")
    group = f.make_group("Allotment", owner=owner, members=(writer,))
    board = f.make_board("Seeds", group=group)
    post = f.make_post(f.make_topic(board, writer), writer)
    actions.hide_post(f.actor(owner), post, reason="Advert.")
    db.session.commit()
    stranger = f.actor(f.make_user("site_mod", moderator=True))
    line = _line(stranger, _last(db, "post_hidden"))
    assert line.text.startswith("A moderator hid a post in “")
    assert "public_owner" not in line.text


def _row(db, actor_id, action, target_type, target_id, *, group=None, data=None):
    values = {
        "actor_id": actor_id,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "group_id": group.id if group is not None else None,
        "reason": "",
        "data": json.dumps(data or {}),
    }
    if action not in Action.__members__.values():
        # A row this version never writes (the model refuses it), as a newer version
        # rolled back would leave: inserted past the model's check.
        entry_id = db.session.execute(
            insert(ModerationLog).values(**values).returning(ModerationLog.id)
        ).scalar_one()
        db.session.commit()
        return db.session.get(ModerationLog, entry_id)
    entry = ModerationLog(**values)
    db.session.add(entry)
    db.session.commit()
    return entry


def test_other_helpers_actions_and_unknown_ones_read_as_words(db):
    owner, member = f.make_user("circle_owner"), f.make_user("newcomer")
    group = f.make_group("Recovery circle", slug="recovery", owner=owner, members=(member,))
    post = f.make_post(f.make_topic(f.make_board(group=group), owner, title="Week one"), member)
    reader = f.actor(owner)
    trust = {"before": {"level": 0, "locked": False}, "after": {"level": 2, "locked": True}}
    cases = [
        (
            ("member_joined", "user", member.id, {"door": "link", "invitation_id": 4}),
            "newcomer joined the group Recovery circle through an invitation link.",
        ),
        (
            ("member_allowed_back", "user", member.id, {"kind": "removed"}),
            "circle_owner allowed newcomer back: links, requests and invitations work for "
            "them again.",
        ),
        (
            ("join_request_declined", "user", member.id, {"request": 3, "keep_out": True}),
            "circle_owner declined the request to join of newcomer and kept them from asking "
            "again.",
        ),
        (
            ("invitations_revoked", "user", member.id, {"count": 2}),
            "circle_owner revoked 2 open invitation links made by newcomer.",
        ),
        (
            (
                "invitations_revoked",
                "user",
                member.id,
                {"why": "removed", "links": [4, 5, 6], "member_invitations": []},
            ),
            "circle_owner revoked 3 open invitation links made by newcomer.",
        ),
        (
            ("revision_redacted", "post", post.id, {"revision": 1}),
            "circle_owner removed an earlier version of a post in “Week one”.",
        ),
        (
            ("trust_level_granted", "user", member.id, trust),
            "circle_owner set the trust level of newcomer in the group Recovery circle "
            "to 2 (locked).",
        ),
        (
            ("frobnicated_widget", "post", post.id, {}),
            "circle_owner: frobnicated widget (a post in “Week one”).",
        ),
    ]
    for (action, target_type, target_id, data), expected in cases:
        entry = _row(db, owner.id, action, target_type, target_id, group=group, data=data)
        assert _line(reader, entry).text == expected


def test_a_secret_groups_name_never_reaches_a_line_outside_it(db):
    owner = f.make_user("circle_owner")
    secret = f.make_group("Hidden circle", secret=True, owner=owner)
    member = f.make_user("joiner")
    entry = _row(db, owner.id, "member_joined", "user", member.id, group=secret, data={})
    # A member who knows neither (admins know every member's name, never their groups:
    # the log never shows them a secret group's rows). Were the row shown to them, they
    # would learn neither name.
    outsider = f.actor(f.make_user())
    assert _line(outsider, entry).text == "A member joined a group."
