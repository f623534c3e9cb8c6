"""Chat rooms, their messages, and the live pages' `GET /changes`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from forum.blueprints.api.schemas.base import Answer
from forum.blueprints.api.schemas.base import Body
from forum.blueprints.api.schemas.base import Id
from forum.blueprints.api.schemas.base import NullableWhole
from forum.blueprints.api.schemas.base import Text
from forum.blueprints.api.schemas.base import Time
from forum.blueprints.api.schemas.base import Url
from forum.blueprints.api.schemas.base import spec
from forum.services import chat

# --- requests -------------------------------------------------------------------


class RoomDraft(Body):
    name: Text = spec(minLength=1, maxLength=chat.NAME_MAX)


class RoomChange(Body):
    slow_mode_seconds: NullableWhole = spec(
        None,
        minimum=0,
        maximum=chat.SLOW_MODE_MAX,
        description="Seconds between two messages of a member (0: off); the room's moderators",
    )
    retention_days: NullableWhole = spec(
        None,
        minimum=chat.RETENTION_MIN,
        maximum=chat.RETENTION_MAX,
        description="Days messages are kept, then deleted; the room's owners",
    )


class MessageDraft(Body):
    body: Text = spec(minLength=1, maxLength=chat.MESSAGE_MAX, description="Markdown")


class ChatReportDraft(Body):
    reason: Text = spec(enum=list(chat.REPORT_REASONS))


# --- answers --------------------------------------------------------------------


class ChatRoomAnswer(Answer):
    id: Id
    name: str
    group: Annotated[str | None, Field(description="The group's slug; null: a site room")]
    slow_mode_seconds: Annotated[int, Field(ge=0)]
    retention_days: Annotated[int, Field(ge=1)]
    token: Annotated[str, Field(description="For `GET /changes?since=`")]
    url: Url


class ChatRoomList(Answer):
    rooms: list[ChatRoomAnswer]


class ChatMessageAnswer(Answer):
    id: Id
    room_id: Id
    author: str
    body: str
    html: Annotated[str, Field(description="Sanitised HTML")]
    created_at: Time


class ChatMessageList(Answer):
    messages: list[ChatMessageAnswer]
    token: Annotated[str, Field(description="The room's live token now")]


class ChatReported(Answer):
    reported: bool


class ChatHidden(Answer):
    changed: Annotated[bool, Field(description="False: it was hidden already")]


class Changes(Answer):
    token: Annotated[str, Field(description="Send it back as `since` (and the ETag)")]
    changed: Annotated[bool, Field(description="True: the page is out of date")]
