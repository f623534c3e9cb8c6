"""Moderation: reports and the review queue, actions with reasons, the moderation log,
sanctions, appeals, trust levels and appointing site moderators."""

from __future__ import annotations

from typing import Annotated
from typing import Any

from pydantic import Field
from pydantic import WithJsonSchema

from forum import validation
from forum.blueprints.api.schemas.accounts import User
from forum.blueprints.api.schemas.base import Answer
from forum.blueprints.api.schemas.base import Body
from forum.blueprints.api.schemas.base import Boolean
from forum.blueprints.api.schemas.base import Count
from forum.blueprints.api.schemas.base import Id
from forum.blueprints.api.schemas.base import NullableText
from forum.blueprints.api.schemas.base import NullableWhole
from forum.blueprints.api.schemas.base import Number
from forum.blueprints.api.schemas.base import Text
from forum.blueprints.api.schemas.base import Time
from forum.blueprints.api.schemas.base import TrustLevel
from forum.blueprints.api.schemas.base import Whole
from forum.blueprints.api.schemas.base import one_of
from forum.blueprints.api.schemas.base import spec
from forum.blueprints.api.schemas.boards import PagedAnswer
from forum.blueprints.api.schemas.boards import Post
from forum.blueprints.api.schemas.boards import Topic
from forum.models.moderation import AppealState
from forum.models.moderation import FlagReason
from forum.models.moderation import ReportStatus
from forum.models.moderation import SanctionKind
from forum.models.moderation import SanctionState
from forum.moderation.actions import SLOW_MODE_MAX
from forum.moderation.appeals import TARGET_TYPES as APPEAL_TARGETS
from forum.moderation.appeals import TEXT_MAX as APPEAL_TEXT_MAX
from forum.moderation.reports import ACTIONS as RESOLVE_ACTIONS
from forum.moderation.reports import NOTE_MAX
from forum.moderation.sanctions import DAYS_MAX
from forum.services.labels import LABEL_MAX
from forum.validation import INT_MAX
from forum.validation import REASON_MAX

# The contract makes a resolution's reason optional; the log and the notified reporters
# still need one, so a resolution sent without it records this.
DEFAULT_RESOLVE_REASON = "Resolved from the review queue."
REPORT_REASONS = [r.value for r in FlagReason]
SANCTION_KINDS = [k.value for k in SanctionKind]
ReasonName = one_of(REPORT_REASONS)
SanctionKindName = one_of(SANCTION_KINDS)


def _reason(
    default: Any = ..., *, description: str = "Logged, and shown to those concerned"
) -> Any:
    return spec(default, minLength=1, maxLength=REASON_MAX, description=description)


# --- requests -------------------------------------------------------------------


class ActionReason(Body):
    reason: Text = _reason()


class OptionalReason(Body):
    reason: Text = _reason(None)


class ReportDraft(Body):
    reason: Text = spec(enum=REPORT_REASONS)
    note: Text = spec(None, maxLength=NOTE_MAX, description="Seen by the moderators")


class Resolution(Body):
    action: Text = spec(enum=list(RESOLVE_ACTIONS))
    reason: Text = _reason(DEFAULT_RESOLVE_REASON)
    days: NullableWhole = spec(None, minimum=1, maximum=DAYS_MAX)


class TopicMove(Body):
    messages = {"board_id": "board_id must be a positive whole number (an id)."}

    # Checked here whole (the view reads it before the service): null or left out is
    # "choose the board" in the view's words.
    board_id: Annotated[
        Annotated[int, Field(ge=1, le=INT_MAX)] | None,
        WithJsonSchema({"type": "integer", "minimum": 1, "maximum": INT_MAX}),
    ]
    reason: Text = _reason()
    confirm_group_change: Boolean = spec(
        False, description="Required (true) to move into or out of a secret group"
    )


class SlowMode(Body):
    minutes: Whole = spec(minimum=0, maximum=SLOW_MODE_MAX)
    reason: Text = _reason()


class SanctionDraft(Body):
    messages = {"group": "Give the group's slug, or null."}

    kind: Text = spec(enum=SANCTION_KINDS)
    days: NullableWhole = spec(
        None, minimum=1, maximum=DAYS_MAX, description="null or omitted: permanent"
    )
    reason: Text = _reason()
    group: NullableText = spec(None, description="A group's slug: the sanction is the group's")


class AppealDraft(Body):
    target_type: Text = spec(enum=list(APPEAL_TARGETS))
    target_id: Whole = spec(minimum=1, maximum=INT_MAX)
    text: Text = spec(minLength=1, maxLength=APPEAL_TEXT_MAX)


class AppealDecision(Body):
    # Read by the service after it decided whether the caller may decide at all: someone
    # who may not gets 403 whatever `grant` holds.
    grant: Annotated[Any, WithJsonSchema({"type": "boolean"})]
    reason: Text = _reason()


class TrustGrant(Body):
    messages = {"group": "Give the group's slug, or null."}

    level: Whole = spec(minimum=0, maximum=4)
    lock: Boolean = True
    group: NullableText = spec(
        None, description="A level inside this group (a slug): 0-3, 0 takes it back"
    )
    reason: Text = spec(None, maxLength=validation.REASON_MAX, description="Logged")


class LabelGrant(Body):
    messages = {"group": "Give the group's slug, or null."}

    label: Text = spec(
        maxLength=LABEL_MAX, description="Plain text on one line; empty takes the label away"
    )
    group: NullableText = spec(
        None, description="A label shown inside this group only (a slug); null: the site label"
    )
    reason: Text = spec(None, maxLength=validation.REASON_MAX, description="Logged")


class Appointment(Body):
    moderator: Boolean
    reason: Text = _reason()


# --- answers --------------------------------------------------------------------


class UserChange(User):
    changed: bool


class TrustChange(User):
    trust_level_locked: bool
    group: Annotated[str | None, Field(description="The group's slug, for a grant inside it")]
    group_trust_level: Annotated[
        int | None, Field(ge=1, le=3, description="The level granted inside `group` (null: none)")
    ]
    changed: bool


class LabelChange(User):
    group: Annotated[str | None, Field(description="The group's slug, for a label inside it")]
    group_label: Annotated[
        str | None, Field(description="The label given inside `group` (null: none)")
    ]
    changed: bool


class GroupLevel(Answer):
    group: Annotated[str, Field(description="The group's slug")]
    group_name: str
    level: Annotated[int, Field(ge=1, le=3)]
    name: Annotated[str, Field(examples=["regular"])]


class TrustProgress(Answer):
    level: TrustLevel
    name: Annotated[str, Field(examples=["new member", "member", "regular"])]
    locked: Annotated[bool, Field(description="Set by hand: not recomputed")]
    next_level: Annotated[TrustLevel | None, Field(description="null: none to reach")]
    next_name: str | None
    keeping: Annotated[bool, Field(description="The requirements are for keeping level 3")]
    window_days: Annotated[Number, Field(description="Level 3 looks back this many days")]
    requirements: Annotated[
        list[dict[str, Any]], Field(description="Each: what you have, what it needs")
    ]
    met: bool
    group_levels: Annotated[
        list[GroupLevel],
        Field(description="Levels your groups granted you; each counts on its boards only"),
    ]


class PostChange(Post):
    changed: bool


class TopicChange(Topic):
    changed: bool


class Flag(Answer):
    reason: ReasonName
    note: str
    trust_level: Annotated[TrustLevel, Field(description="The reporter's (never their name)")]


class Report(Answer):
    id: Id
    post_id: Id
    topic_id: Id
    reasons: Annotated[list[Flag], Field(description="Yours only, unless you moderate the post")]
    status: one_of(s.value for s in ReportStatus)
    created_at: Time


class ReviewReport(Report):
    score: Annotated[int, Field(description="The reports' summed weight")]
    resolution: one_of(RESOLVE_ACTIONS) | None
    resolution_reason: str | None
    resolved_at: Time | None
    post: Post


class ReviewReportPage(PagedAnswer):
    reports: list[ReviewReport]


class Sanction(Answer):
    id: Id
    username: str
    kind: SanctionKindName
    state: one_of(s.value for s in SanctionState)
    group_id: Annotated[Id | None, Field(description="null: site-wide")]
    reason: Annotated[str, Field(description="Shown to the member")]
    starts_at: Time
    ends_at: Annotated[Time | None, Field(description="null: until lifted")]
    requested_days: Annotated[int, Field(ge=1, le=DAYS_MAX)] | None
    automatic: Annotated[bool, Field(description="Imposed by the community's defences")]
    lifted_at: Time | None


class SanctionChange(Sanction):
    changed: bool


class SanctionList(Answer):
    sanctions: list[Sanction]


class Appeal(Answer):
    id: Id
    username: Annotated[str, Field(description="Who appealed")]
    target_type: one_of(APPEAL_TARGETS)
    target_id: Id
    text: str
    state: one_of(s.value for s in AppealState)
    created_at: Time
    decided_at: Time | None
    decision_reason: str | None


class AppealPage(PagedAnswer):
    appeals: list[Appeal]


class MemberHistory(Answer):
    hidden_posts: Annotated[Count, Field(description="Earlier hidden posts, this scope")]
    sanctions: Annotated[Count, Field(description="Silences and suspensions, this scope")]


class QueueItem(Answer):
    kind: Annotated[
        one_of(["report", "review", "approval", "sanction", "appeal"]),
        Field(
            description="report: an open case; review: a hidden post its author edited; "
            "approval: a new member's post waiting; sanction: to confirm (long) or review "
            "(automatic); appeal: to decide"
        ),
    ]
    id: Annotated[Id, Field(description="The report's, post's, sanction's or appeal's id")]
    created_at: Time
    post: Post | None
    topic: Topic | None
    reasons: list[Flag]
    score: Annotated[int | None, Field(description="Reports only")]
    sanction: Sanction | None
    appeal: Appeal | None
    member: Annotated[str | None, Field(description="Whom it is about")]
    member_history: MemberHistory | None


class QueuePage(PagedAnswer):
    items: list[QueueItem]


class LogEntry(Answer):
    id: Id
    actor: Annotated[str | None, Field(description="null: the community's automatic defences")]
    action: Annotated[
        str, Field(examples=["post_hidden", "post_hidden_by_community", "member_silenced"])
    ]
    target_type: Annotated[
        str, Field(examples=["post", "topic", "user", "report", "sanction", "group"])
    ]
    target_id: int
    reason: str
    created_at: Time
    undone: bool


class LogEntryChange(LogEntry):
    changed: bool


class LogPage(PagedAnswer):
    entries: list[LogEntry]
