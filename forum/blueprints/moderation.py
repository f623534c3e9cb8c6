"""Moderation in the browser: reporting a post, a member's standing and appeals, and the
moderator dashboard (queue, log, members in scope) with its action forms.

Everything a moderator opens answers 404 to anyone who does not moderate it, exactly like
something that does not exist: a group moderator learns nothing about another group's
reports, and a member nothing about the dashboard. Every form is a plain POST that
redirects, so the pages work without JavaScript.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from forum import listings
from forum import policy
from forum import transaction
from forum import validation
from forum.blueprints import context
from forum.blueprints import unread
from forum.blueprints.pages import requested_page
from forum.errors import Conflict
from forum.errors import Denied
from forum.errors import Invalid
from forum.errors import NotFound
from forum.errors import RateLimited
from forum.models.groups import Group
from forum.models.moderation import FlagReason
from forum.models.moderation import Report
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.moderation import actions
from forum.moderation import appeals
from forum.moderation import log
from forum.moderation import reports
from forum.moderation import sanctions
from forum.moderation import sentences
from forum.policy import Actor

bp = Blueprint("moderation", __name__)

Page = str | tuple[str, int]

# The five reasons, as members read them.
REASON_LABELS = {
    FlagReason.SPAM.value: "Spam: advertising, or the same thing posted again and again",
    FlagReason.ABUSE.value: "Abusive: insults, harassment or threats",
    FlagReason.OFF_TOPIC.value: "Off-topic: does not belong in this topic",
    FlagReason.ILLEGAL.value: "Illegal: breaks the law (the moderators decide what to do)",
    FlagReason.OTHER.value: "Something else: please say what in the note",
}
RESOLVE_LABELS = {
    "dismiss": "Dismiss: nothing wrong here",
    "hide_post": "Hide the post",
    "delete_post": "Delete the post",
    "silence_user": "Silence the author (can read, cannot post)",
    "suspend_user": "Suspend the author (cannot log in; in a group: loses the group)",
}
# Lengths offered for silences and suspensions; over 7 days needs a second moderator.
DAY_CHOICES = ("1", "3", "7", "14", "30", "90", "365", "permanent")
TOPIC_ACTIONS = {
    "lock": actions.lock_topic,
    "unlock": actions.unlock_topic,
    "pin": actions.pin_topic,
    "unpin": actions.unpin_topic,
    "close": actions.close_topic,
    "open": actions.open_topic,
}
TOPIC_DONE = {
    "lock": "Topic locked.",
    "unlock": "Topic unlocked.",
    "pin": "Topic pinned.",
    "unpin": "Topic unpinned.",
    "close": "Topic closed.",
    "open": "Topic opened again.",
    "slow_mode": "Slow mode saved.",
    "move": "Topic moved.",
}


# Each item carries the reported post's text: 20 keep the page light on a phone.
QUEUE_PER_PAGE = 20


def _require_moderates_post(actor: Actor, post_id: int) -> Post:
    """The post (404 if the actor cannot see it), if the actor moderates its board (403)."""
    post = policy.require_post(actor, post_id)
    policy.check_moderate(actor, post.topic.board)
    return post


def _days(value: str | None) -> int | None:
    """A length from the form: a number of days, or None for "permanent"."""
    choice = validation.choice(value, "days", DAY_CHOICES)
    return None if choice == "permanent" else int(choice)


# --- reporting a post ----------------------------------------------------------------


def _report_page(actor: Actor, post: Post, status: int = 200, **extra: Any) -> tuple[str, int]:
    flag = listings.my_flag(actor, post)
    form = extra.pop("form", None) or {
        "reason": flag.reason.value if flag else "",
        "note": flag.note if flag else "",
    }
    values: dict[str, Any] = {"errors": {}, "problem": None, **extra}
    page = render_template(
        "moderation/report_post.html",
        post=post,
        flag=flag,
        form=form,
        reasons=REASON_LABELS,
        **values,
    )
    return page, status


@bp.route("/p/<id:post_id>/report", methods=["GET", "POST"])
@transaction.writes
def report(post_id: int) -> Page | Response:
    actor = context.current_actor()
    post = policy.require_post(actor, post_id)
    # Hidden or deleted: the moderators have dealt with it (409; its text is not shown).
    policy.check_report_post(actor, post)
    if request.method == "GET":
        return _report_page(actor, post)
    form = {"reason": request.form.get("reason", ""), "note": request.form.get("note", "")}
    try:
        reports.report_post(actor, post, reason=form["reason"], note=form["note"])
    except Invalid as exc:
        transaction.discard()
        errors = dict(exc.fields)
        if "reason" in errors:
            errors["reason"] = "Choose what is wrong with the post."
        return _report_page(actor, post, 400, form=form, errors=errors)
    except (Conflict, RateLimited) as exc:
        transaction.discard()
        page, status = _report_page(actor, post, exc.status, form=form, problem=exc.message)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else {}
        return Response(page, status, headers=headers)
    target = url_for("topics.permalink", post_id=post.id)
    flash("Thank you: your report is with the moderators.")
    return redirect(target)


# --- a member's own standing and appeals ------------------------------------------


def _standing_page(actor: Actor, status: int = 200, **extra: Any) -> tuple[str, int]:
    member = context.current_member()
    assert member is not None  # noqa: S101 - require_member ran first
    values: dict[str, Any] = {"errors": {}, "form": {}, "failed": None, **extra}
    found = sanctions.member_standing(actor, member)
    inside = actor.group_ids | actor.suspended_group_ids
    page = render_template(
        "moderation/standing.html",
        sanctions=found,
        names=listings.group_names(actor, [s.group_id for s in found]),
        # Group sanctions of groups they have left: they apply again if they come back.
        outside={s.group_id for s in found if s.group_id and s.group_id not in inside},
        hidden=listings.own_hidden_posts(actor),
        appeals=listings.own_appeals(actor),
        **values,
    )
    return page, status


@bp.get("/account/standing")
def standing() -> Page:
    actor = context.current_actor()
    policy.require_member(actor)
    return _standing_page(actor)


@bp.post("/account/standing/appeal")
@transaction.writes
def appeal() -> Page | Response:
    actor = context.current_actor()
    policy.require_member(actor)
    form = {name: request.form.get(name, "") for name in ("target_type", "target_id", "text")}
    failed = f"{form['target_type']}-{form['target_id']}"
    try:
        target_id = validation.integer(form["target_id"], "target_id", minimum=1)
        appeals.appeal(
            actor, target_type=form["target_type"], target_id=target_id, text=form["text"]
        )
    except Invalid as exc:
        transaction.discard()
        return _standing_page(actor, 400, form=form, errors=exc.fields, failed=failed)
    except Conflict as exc:
        transaction.discard()
        errors = {"text": exc.message}
        return _standing_page(actor, 409, form=form, errors=errors, failed=failed)
    flash("Your appeal is sent. A moderator who did not take the action will decide.")
    return redirect(url_for("moderation.standing"))


# --- the dashboard: queue -------------------------------------------------------------


def _queue_page(actor: Actor, status: int = 200, **extra: Any) -> tuple[str, int]:
    values: dict[str, Any] = {"problem": None, "failed": None, "form": {}, **extra}
    found = reports.queue(actor, page=requested_page(), per_page=QUEUE_PER_PAGE)
    unread.remember_waiting(actor, found.total)
    page = render_template(
        "moderation/queue.html",
        queue=found,
        names=listings.group_names(actor, [item.group_id for item in found.items]),
        actions=RESOLVE_LABELS,
        days=DAY_CHOICES,
        **values,
    )
    return page, status


@bp.get("/mod")
def queue() -> Page:
    actor = context.current_actor()
    policy.require_moderator(actor)
    return _queue_page(actor)


def _report_item(actor: Actor, found: Report) -> reports.QueueItem:
    """The report as the queue shows it (post, reasons, history), loaded alone."""
    # The queue's own loader, so that the page and the queue can never disagree.
    return reports.queue_item(actor, found)


def _report_item_page(
    actor: Actor, found: Report, status: int = 200, **extra: Any
) -> tuple[str, int]:
    item = _report_item(actor, found)
    values: dict[str, Any] = {"errors": {}, "form": {}, "problem": None, **extra}
    page = render_template(
        "moderation/report.html",
        item=item,
        names=listings.group_names(actor, [item.group_id]),
        actions=RESOLVE_LABELS,
        days=DAY_CHOICES,
        **values,
    )
    return page, status


@bp.get("/mod/reports/<id:report_id>")
def report_item(report_id: int) -> Page:
    actor = context.current_actor()
    return _report_item_page(actor, policy.require_report(actor, report_id))


@bp.post("/mod/reports/<id:report_id>")
@transaction.writes
def resolve(report_id: int) -> Page | Response:
    actor = context.current_actor()
    found = policy.require_report(actor, report_id)
    form = {name: request.form.get(name, "") for name in ("action", "reason", "days")}
    try:
        action = validation.choice(form["action"], "action", reports.ACTIONS)
        days = _days(form["days"] or "7") if action in ("silence_user", "suspend_user") else None
        reports.resolve_report(actor, found, action=action, reason=form["reason"], days=days)
    except Invalid as exc:
        transaction.discard()
        return _report_item_page(actor, found, 400, form=form, errors=exc.fields)
    except (Denied, Conflict) as exc:
        transaction.discard()
        return _report_item_page(actor, found, exc.status, form=form, problem=exc.message)
    flash("Done: the report is handled, and whoever reported it is told.")
    return redirect(url_for("moderation.queue"))


def _decide(
    actor: Actor, key: str, run: Callable[[], str], back: str | None = None
) -> Page | Response:
    """Run one queue decision; on a refusal show the queue again with the problem."""
    try:
        message = run()
    except (Invalid, Denied, Conflict) as exc:
        transaction.discard()
        problem = exc.message
        return _queue_page(actor, exc.status, problem=problem, failed=key, form=request.form)
    flash(message)
    return redirect(back or url_for("moderation.queue"))


@bp.post("/mod/posts/<id:post_id>/review")
@transaction.writes
def review(post_id: int) -> Page | Response:
    actor = context.current_actor()
    post = _require_moderates_post(actor, post_id)
    reason = request.form.get("reason", "")

    def run() -> str:
        decision = validation.choice(request.form.get("decision"), "decision", ("unhide", "keep"))
        if decision == "unhide":
            actions.unhide_post(actor, post, reason=reason)
            return "The post is visible again."
        actions.keep_hidden(actor, post, reason=reason)
        return "The post stays hidden; its author is told why."

    return _decide(actor, f"review-{post.id}", run)


@bp.post("/mod/posts/<id:post_id>/approval")
@transaction.writes
def approval(post_id: int) -> Page | Response:
    actor = context.current_actor()
    post = _require_moderates_post(actor, post_id)
    reason = request.form.get("reason", "")

    def run() -> str:
        options = ("approve", "reject")
        decision = validation.choice(request.form.get("decision"), "decision", options)
        if decision == "approve":
            actions.approve_post(actor, post, reason=reason)
            return "The post is approved and visible."
        actions.reject_post(actor, post, reason=reason)
        return "The post is rejected; its author is told why."

    return _decide(actor, f"approval-{post.id}", run)


@bp.post("/mod/sanctions/<id:sanction_id>")
@transaction.writes
def sanction(sanction_id: int) -> Page | Response:
    actor = context.current_actor()
    policy.require_member(actor)
    found = policy.require_sanction(actor, sanction_id)
    if found.user_id == actor.user_id:
        # Members see their own sanctions (with reasons) but never decide them.
        raise NotFound()
    policy.require_moderator(actor)
    reason = request.form.get("reason", "")

    def run() -> str:
        options = ("confirm", "lift")
        decision = validation.choice(request.form.get("decision"), "decision", options)
        if decision == "confirm":
            sanctions.confirm_sanction(actor, found)
            return "Confirmed: it runs for the full time asked."
        sanctions.lift_sanction(actor, found, reason=reason)
        return "Lifted: the member is told."

    # Lifting from the members tab goes back there.
    back = None
    if request.form.get("back") == "members":
        back = url_for("moderation.members", username=found.user.username)
    return _decide(actor, f"sanction-{found.id}", run, back)


@bp.post("/mod/appeals/<id:appeal_id>")
@transaction.writes
def decide_appeal(appeal_id: int) -> Page | Response:
    actor = context.current_actor()
    policy.require_member(actor)
    found = policy.require_appeal(actor, appeal_id)
    if found.user_id == actor.user_id:
        raise NotFound()
    policy.require_moderator(actor)
    reason = request.form.get("reason", "")

    def run() -> str:
        options = ("grant", "deny")
        decision = validation.choice(request.form.get("decision"), "decision", options)
        appeals.decide_appeal(actor, found, grant=decision == "grant", reason=reason)
        return (
            "Appeal granted: the action is reversed."
            if decision == "grant"
            else ("Appeal denied: the member is told why.")
        )

    return _decide(actor, f"appeal-{found.id}", run)


# --- the dashboard: log -----------------------------------------------------------------


def _log_page(actor: Actor, status: int = 200, **extra: Any) -> tuple[str, int]:
    found = log.entries(actor, page=requested_page())
    values: dict[str, Any] = {"problem": None, "failed": None, **extra}
    page = render_template(
        "moderation/log.html",
        entries=found,
        view=listings.log_view(actor, found.items, undoable=log.UNDOABLE),
        lines=sentences.log_lines(actor, found.items),
        **values,
    )
    return page, status


@bp.get("/mod/log")
def log_page() -> Page:
    actor = context.current_actor()
    policy.require_moderator(actor)
    return _log_page(actor)


@bp.post("/mod/log/<id:entry_id>/undo")
@transaction.writes
def undo(entry_id: int) -> Page | Response:
    actor = context.current_actor()
    policy.require_member(actor)
    # What the actor cannot see answers 404 first; a member who sees the entry (a group
    # that opens its log to members) but moderates nothing: 403.
    entry = policy.require_log_entry(actor, entry_id)
    policy.require_moderator(actor)
    try:
        log.undo(actor, entry, reason=request.form.get("reason", ""))
    except (Invalid, Denied, Conflict) as exc:
        transaction.discard()
        return _log_page(actor, exc.status, problem=exc.message, failed=entry_id)
    flash("Undone. The log keeps both the action and its undoing.")
    return redirect(url_for("moderation.log_page"))


# --- the dashboard: members in scope ---------------------------------------------------


def _member_lookup(actor: Actor, username: str) -> User | None:
    """The member, if the actor may see them and moderates a scope they are in."""
    try:
        user = policy.require_user(actor, username)
        sanctions.member_standing(actor, user)
    except NotFound:
        return None
    return user


def _members_page(actor: Actor, username: str, status: int = 200, **extra: Any) -> tuple[str, int]:
    user = _member_lookup(actor, username) if username else None
    values: dict[str, Any] = {"errors": {}, "form": {}, "problem": None, **extra}
    standing = sanctions.member_standing(actor, user) if user else []
    page = render_template(
        "moderation/members.html",
        username=username,
        user=user,
        standing=standing,
        names=listings.group_names(actor, [s.group_id for s in standing]),
        scopes=listings.sanction_scopes(actor, user) if user else [],
        days=DAY_CHOICES,
        **values,
    )
    return page, status


@bp.get("/mod/members")
def members() -> Page:
    actor = context.current_actor()
    policy.require_moderator(actor)
    username = request.args.get("username", "").strip()[:40]
    return _members_page(actor, username)


def _scope(actor: Actor, user: User, value: str) -> Group | None:
    """The scope chosen in the form ("site" or a group's slug), among those allowed."""
    for scope in listings.sanction_scopes(actor, user):
        if (scope.slug if scope is not None else "site") == value:
            return scope
    raise Invalid("scope", "Choose where the sanction applies.")


@bp.post("/mod/members/<username>/sanction")
@transaction.writes
def sanction_member(username: str) -> Page | Response:
    actor = context.current_actor()
    policy.require_moderator(actor)
    user = _member_lookup(actor, username)
    if user is None:
        raise NotFound()
    form = {name: request.form.get(name, "") for name in ("kind", "scope", "days", "reason")}
    try:
        kind = validation.choice(form["kind"], "kind", ("silence", "suspend"))
        group = _scope(actor, user, form["scope"])
        act = sanctions.silence_member if kind == "silence" else sanctions.suspend_member
        act(actor, user, group=group, days=_days(form["days"]), reason=form["reason"])
    except Invalid as exc:
        transaction.discard()
        return _members_page(actor, user.username, 400, form=form, errors=exc.fields)
    except (Denied, Conflict) as exc:
        transaction.discard()
        return _members_page(actor, user.username, exc.status, form=form, problem=exc.message)
    name = user.username
    flash(f"{name} is {'silenced' if kind == 'silence' else 'suspended'}; they are told why.")
    return redirect(url_for("moderation.members", username=name))


# --- a topic's moderation page ------------------------------------------------------------


def _topic_page(actor: Actor, topic: Topic, status: int = 200, **extra: Any) -> tuple[str, int]:
    values: dict[str, Any] = {"errors": {}, "form": {}, "failed": None, **extra}
    boards = listings.moderated_boards(actor)
    page = render_template(
        "moderation/topic.html",
        topic=topic,
        boards=boards,
        secret_line={b.id for b in boards if actions.crosses_secret_line(topic.board, b)},
        **values,
    )
    return page, status


def _run_topic_action(actor: Actor, topic: Topic, action: str, form: dict[str, str]) -> bool:
    if action in TOPIC_ACTIONS:
        return bool(TOPIC_ACTIONS[action](actor, topic, reason=form["reason"]))
    if action == "slow_mode":
        return actions.set_slow_mode(actor, topic, minutes=form["minutes"], reason=form["reason"])
    if not form["board_id"]:
        raise Invalid("board", "Choose a board.")
    board_id = validation.integer(form["board_id"], "board", minimum=1)
    board = next((b for b in listings.moderated_boards(actor) if b.id == board_id), None)
    if board is None:
        raise Invalid("board", "Choose a board you moderate.")
    confirm = form["confirm"] == "yes"
    return actions.move_topic(
        actor, topic, board, reason=form["reason"], confirm_group_change=confirm
    )


@bp.route("/t/<id:topic_id>/moderate", methods=["GET", "POST"])
@transaction.writes
def topic(topic_id: int) -> Page | Response:
    actor = context.current_actor()
    found = policy.require_topic(actor, topic_id)
    policy.check_moderate(actor, found.board)
    if request.method == "GET":
        return _topic_page(actor, found)
    names = ("action", "reason", "minutes", "board_id", "confirm")
    form = {name: request.form.get(name, "") for name in names}
    action = form["action"]
    if action not in (*TOPIC_ACTIONS, "slow_mode", "move"):
        raise Invalid("action", "Choose what to do.")
    try:
        changed = _run_topic_action(actor, found, action, form)
    except (Invalid, Denied) as exc:
        transaction.discard()
        errors = exc.fields if isinstance(exc, Invalid) else {"reason": exc.message}
        return _topic_page(actor, found, exc.status, form=form, errors=errors, failed=action)
    target = url_for("topics.show", topic_id=found.id)
    flash(TOPIC_DONE[action] if changed else "Nothing to change: it was like that already.")
    return redirect(target)
