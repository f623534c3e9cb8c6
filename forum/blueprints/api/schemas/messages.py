"""Private messages and blocks."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field
from pydantic import WithJsonSchema

from forum import policy
from forum.blueprints.api.schemas.base import Answer
from forum.blueprints.api.schemas.base import Body
from forum.blueprints.api.schemas.base import Boolean
from forum.blueprints.api.schemas.base import Id
from forum.blueprints.api.schemas.base import Text
from forum.blueprints.api.schemas.base import Time
from forum.blueprints.api.schemas.base import Url
from forum.blueprints.api.schemas.base import spec
from forum.blueprints.api.schemas.boards import PagedAnswer
from forum.services import messages as message_service
from forum.validation import BODY_MAX
from forum.validation import TITLE_MAX
from forum.validation import TITLE_MIN

Names = Annotated[
    list[str] | None,
    WithJsonSchema(
        {
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "maxItems": policy.MAX_PARTICIPANTS - 1,
        }
    ),
]


class ConversationStart(Body):
    messages = {"recipients": "recipients must be a list of usernames."}

    recipients: Names = spec(description="Usernames (up to 19): you make the 20th")
    title: Text = spec(minLength=TITLE_MIN, maxLength=TITLE_MAX)
    body: Text = spec(maxLength=BODY_MAX, description="Markdown")


class MessageSend(Body):
    body: Text = spec(maxLength=BODY_MAX, description="Markdown")


class ParticipantsAdd(Body):
    messages = {"usernames": "usernames must be a list of usernames."}

    usernames: Names = spec(description="Members to add; they read from now on")


class MessageReportBody(Body):
    reason: Text = spec(enum=list(message_service.REPORT_REASONS))
    note: Text = spec("", maxLength=message_service.NOTE_MAX)


class MessagingChange(Body):
    messages_from_groups_only: Boolean = spec(
        description="Only members who share a group with you may message you"
    )


class Conversation(Answer):
    id: Id
    title: str
    participants: Annotated[list[str], Field(description="Who takes part now, you included")]
    url: Url
    unread: Annotated[bool, Field(description="A message you have not read yet")]
    last_message_at: Time


class ConversationPage(PagedAnswer):
    conversations: list[Conversation]


class PrivateMessage(Answer):
    id: Id
    author: Annotated[str, Field(description='A username, or "deleted member"')]
    body: Annotated[str, Field(description="Markdown")]
    html: Annotated[str, Field(description="Rendered and sanitised")]
    deleted: Annotated[
        bool, Field(description="Its author deleted it: `body` and `html` are empty")
    ]
    created_at: Time
    url: Url


class ConversationMessages(PagedAnswer):
    conversation: Conversation
    messages: list[PrivateMessage]
    notice: Annotated[str, Field(description="What reporting a message shows to moderators")]


class MessageReportState(Answer):
    id: Id
    status: Annotated[str, Field(examples=["open"])]


class MessageReportDecision(Body):
    decision: Text = spec(enum=list(message_service.RESOLUTIONS))


class ReportedMessage(Answer):
    id: Id
    author: Annotated[str, Field(description='A username, or "deleted member"')]
    body: Annotated[str, Field(description="Markdown")]
    html: Annotated[str, Field(description="Rendered and sanitised")]
    deleted: Annotated[bool, Field(description="Its author deleted it since")]
    created_at: Time
    reported: Annotated[bool, Field(description="The message the report is about")]


class MessageReportItem(Answer):
    id: Id
    reason: Annotated[str, Field(examples=["abuse"])]
    note: str
    status: Annotated[str, Field(examples=["open"])]
    created_at: Time
    resolved_at: Time | None
    messages: Annotated[
        list[ReportedMessage],
        Field(description="The reported message (last) and up to two before it"),
    ]


class MessageReportList(Answer):
    reports: list[MessageReportItem]


class Messaging(Answer):
    messages_from_groups_only: bool
    blocked: Annotated[list[str], Field(description="Members you blocked")]
