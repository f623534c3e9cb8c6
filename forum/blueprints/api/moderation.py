"""Moderation over the API: reports and the review queue, actions on posts and topics,
sanctions, appeals, the moderation log, and appointing site moderators.

Every target is looked up through a `policy.require_*` guard before the services check
the body's values, so an outsider asking about a secret thing gets exactly the answer a
missing thing gets (404), whatever values they send; only the body's shape (unknown
fields, a wrong JSON type: `schemas.moderation`) is refused first, alike for every
target. A 403 only ever concerns something the caller can see. The services decide who
may act and validate; these views read input and serialise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from forum import listings
from forum import policy
from forum import transaction
from forum import validation
from forum.blueprints import context
from forum.blueprints.api import inputs
from forum.blueprints.api import schemas
from forum.blueprints.api import serializers
from forum.blueprints.api.blueprint import bp
from forum.blueprints.api.schemas.moderation import ActionReason
from forum.blueprints.api.schemas.moderation import OptionalReason
from forum.errors import Invalid
from forum.models.groups import Group
from forum.models.moderation import ReportStatus
from forum.models.topics import Topic
from forum.moderation import actions
from forum.moderation import appeals
from forum.moderation import appointments
from forum.moderation import log as modlog
from forum.moderation import reports
from forum.moderation import sanctions
from forum.policy import Actor

REPORT_STATUSES = tuple(status.value for status in ReportStatus)
SANCTION_KINDS = ("silence", "suspend")

View = Callable[..., Any]


def _member() -> Actor:
    actor = context.current_actor()
    policy.require_member(actor)
    return actor


def _group_from(actor: Actor, data: dict[str, Any]) -> Group | None:
    slug = data.get("group")
    return policy.require_group(actor, slug) if slug is not None else None


# --- reports and the review queue -------------------------------------------------


@bp.get("/reports")
def list_reports() -> Any:
    page = inputs.page()
    status = inputs.query_choice("status", REPORT_STATUSES, "open")
    actor = _member()
    found = reports.open_reports(actor, status=status, page=page)
    items = [serializers.review_report(actor, r) for r in found.items]
    return serializers.page_of("reports", found, items)


@bp.get("/reports/<id:report_id>")
def show_report(report_id: int) -> Any:
    actor = _member()
    return serializers.review_report(actor, policy.require_report(actor, report_id))


@bp.post("/reports/<id:report_id>/resolve")
@transaction.writes
def resolve_report(report_id: int) -> Any:
    data = inputs.body(schemas.moderation.Resolution)
    actor = _member()
    report = policy.require_report(actor, report_id)
    reason = data.get("reason")
    report = reports.resolve_report(
        actor,
        report,
        action=data.get("action"),
        reason=schemas.moderation.DEFAULT_RESOLVE_REASON if reason is None else reason,
        days=data.get("days"),
    )
    answer = serializers.review_report(actor, report)
    return answer


@bp.get("/moderation/queue")
def moderation_queue() -> Any:
    page = inputs.page()
    actor = _member()
    found = reports.queue(actor, page=page)
    items = [serializers.queue_item(actor, item) for item in found.items]
    return serializers.page_of("items", found, items)


# --- the moderation log -----------------------------------------------------------


@bp.get("/moderation/log")
def moderation_log() -> Any:
    page = inputs.page()
    actor = _member()
    found = modlog.entries(actor, page=page)
    return serializers.page_of("entries", found, [serializers.log_entry(e) for e in found.items])


@bp.post("/moderation/log/<id:entry_id>/undo")
@transaction.writes
def undo_entry(entry_id: int) -> Any:
    data = inputs.body(schemas.moderation.ActionReason, optional=True)
    actor = _member()
    entry = policy.require_log_entry(actor, entry_id)
    changed = modlog.undo(actor, entry, reason=data.get("reason"))
    answer = {**serializers.log_entry(entry), "changed": changed}
    return answer


# --- actions on posts and topics --------------------------------------------------
# One view per action, made from the service function: each reads {reason}, finds the
# target through its guard and answers the updated object with "changed".


def _post_action(name: str, action: Callable[..., bool]) -> None:
    # Approving needs no reason; every other action on a post does.
    model = OptionalReason if name == "approve" else ActionReason

    def view(post_id: int) -> Any:
        data = inputs.body(model, optional=True)
        actor = _member()
        post = policy.require_post(actor, post_id)
        # Missing is None: the services refuse it where a reason is required (all but approve).
        changed = action(actor, post, reason=data.get("reason"))
        labels = listings.post_author_labels(post)
        answer = {**serializers.post(actor, post, labels=labels), "changed": changed}
        return answer

    endpoint = f"{name.replace('-', '_')}_post"
    bp.add_url_rule(
        f"/posts/<id:post_id>/{name}", endpoint, transaction.writes(view), methods=["POST"]
    )


def _topic_action(name: str, action: Callable[..., bool]) -> None:
    def view(topic_id: int) -> Any:
        data = inputs.body(ActionReason, optional=True)
        actor = _member()
        topic = policy.require_topic(actor, topic_id)
        changed = action(actor, topic, reason=data.get("reason"))
        answer = {**serializers.topic(topic), "changed": changed}
        return answer

    bp.add_url_rule(
        f"/topics/<id:topic_id>/{name}",
        f"{name}_topic",
        transaction.writes(view),
        methods=["POST"],
    )


POST_ACTIONS: dict[str, Callable[..., bool]] = {
    "hide": actions.hide_post,
    "unhide": actions.unhide_post,
    "keep-hidden": actions.keep_hidden,
    "restore": actions.restore_post,
    "approve": actions.approve_post,
    "reject": actions.reject_post,
}
TOPIC_ACTIONS: dict[str, Callable[..., bool]] = {
    "lock": actions.lock_topic,
    "unlock": actions.unlock_topic,
    "pin": actions.pin_topic,
    "unpin": actions.unpin_topic,
    "close": actions.close_topic,
    "open": actions.open_topic,
}
for _name, _post_fn in POST_ACTIONS.items():
    _post_action(_name, _post_fn)
for _name, _topic_fn in TOPIC_ACTIONS.items():
    _topic_action(_name, _topic_fn)


def _topic_answer(topic: Topic, changed: bool) -> dict[str, Any]:
    return {**serializers.topic(topic), "changed": changed}


@bp.post("/topics/<id:topic_id>/move")
@transaction.writes
def move_topic(topic_id: int) -> Any:
    data = inputs.body(schemas.moderation.TopicMove)
    actor = _member()
    topic = policy.require_topic(actor, topic_id)
    board_id = data.get("board_id")
    if board_id is None:
        raise Invalid("board_id", "Choose the board to move the topic to.")
    # A board the caller cannot see answers like one that does not exist.
    board = policy.require_board(actor, board_id)
    confirm = validation.boolean(data.get("confirm_group_change", False), "confirm_group_change")
    changed = actions.move_topic(
        actor, topic, board, reason=data.get("reason"), confirm_group_change=confirm
    )
    answer = _topic_answer(topic, changed)
    return answer


@bp.put("/topics/<id:topic_id>/slow-mode")
@transaction.writes
def set_slow_mode(topic_id: int) -> Any:
    data = inputs.body(schemas.moderation.SlowMode)
    actor = _member()
    topic = policy.require_topic(actor, topic_id)
    changed = actions.set_slow_mode(
        actor, topic, minutes=data.get("minutes"), reason=data.get("reason")
    )
    answer = _topic_answer(topic, changed)
    return answer


# --- sanctions --------------------------------------------------------------------


@bp.post("/users/<username>/sanctions")
@transaction.writes
def impose_sanction(username: str) -> Any:
    data = inputs.body(schemas.moderation.SanctionDraft)
    actor = _member()
    user = policy.require_user(actor, inputs.username(username))
    group = _group_from(actor, data)
    kind = validation.choice(data.get("kind"), "kind", SANCTION_KINDS)
    impose = sanctions.silence_member if kind == "silence" else sanctions.suspend_member
    made = impose(actor, user, group=group, days=data.get("days"), reason=data.get("reason"))
    answer = serializers.sanction(made)
    return answer, 201


@bp.get("/users/<username>/sanctions")
def member_sanctions(username: str) -> Any:
    actor = _member()
    user = policy.require_user(actor, inputs.username(username))
    found = sanctions.member_standing(actor, user)
    return {"sanctions": [serializers.sanction(s) for s in found]}


@bp.get("/me/standing")
def my_standing() -> Any:
    actor = _member()
    user = context.current_member()
    assert user is not None  # noqa: S101 - require_member has just checked
    return {"sanctions": [serializers.sanction(s) for s in sanctions.member_standing(actor, user)]}


@bp.post("/sanctions/<id:sanction_id>/confirm")
@transaction.writes
def confirm_sanction(sanction_id: int) -> Any:
    actor = _member()
    sanction = policy.require_sanction(actor, sanction_id)
    changed = sanctions.confirm_sanction(actor, sanction)
    answer = {**serializers.sanction(sanction), "changed": changed}
    return answer


@bp.post("/sanctions/<id:sanction_id>/lift")
@transaction.writes
def lift_sanction(sanction_id: int) -> Any:
    data = inputs.body(schemas.moderation.ActionReason, optional=True)
    actor = _member()
    sanction = policy.require_sanction(actor, sanction_id)
    changed = sanctions.lift_sanction(actor, sanction, reason=data.get("reason"))
    answer = {**serializers.sanction(sanction), "changed": changed}
    return answer


# --- appeals ----------------------------------------------------------------------


@bp.post("/appeals")
@transaction.writes
def make_appeal() -> Any:
    data = inputs.body(schemas.moderation.AppealDraft)
    actor = _member()
    made = appeals.appeal(
        actor,
        target_type=data.get("target_type"),
        target_id=data.get("target_id"),
        text=data.get("text"),
    )
    answer = serializers.appeal(made)
    return answer, 201


@bp.get("/appeals")
def list_appeals() -> Any:
    page = inputs.page()
    actor = _member()
    found = appeals.visible_appeal_page(actor, page=page)
    return serializers.page_of("appeals", found, [serializers.appeal(a) for a in found.items])


@bp.post("/appeals/<id:appeal_id>/decide")
@transaction.writes
def decide_appeal(appeal_id: int) -> Any:
    data = inputs.body(schemas.moderation.AppealDecision)
    actor = _member()
    appeal = policy.require_appeal(actor, appeal_id)
    # The service checks the flag after deciding whether the caller may decide at all.
    grant: Any = data.get("grant")
    decided = appeals.decide_appeal(actor, appeal, grant=grant, reason=data.get("reason"))
    answer = serializers.appeal(decided)
    return answer


# --- appointing site moderators ---------------------------------------------------


@bp.put("/admin/moderators/<username>")
@transaction.writes
def appoint_moderator(username: str) -> Any:
    data = inputs.body(schemas.moderation.Appointment)
    actor = _member()
    policy.require_admin(actor)
    user = policy.require_user(actor, inputs.username(username))
    on = validation.boolean(data.get("moderator"), "moderator")
    changed = appointments.appoint_site_moderator(actor, user, on=on, reason=data.get("reason"))
    answer = {**serializers.user(user), "changed": changed}
    return answer
