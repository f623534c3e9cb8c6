"""The site: settings, notifications, errors and the document itself."""

from __future__ import annotations

from typing import Annotated
from typing import Any

from pydantic import ConfigDict
from pydantic import Field
from pydantic import create_model

from forum.blueprints.api.schemas.base import Answer
from forum.blueprints.api.schemas.base import Body
from forum.blueprints.api.schemas.base import Boolean
from forum.blueprints.api.schemas.base import Count
from forum.blueprints.api.schemas.base import Id
from forum.blueprints.api.schemas.base import Text
from forum.blueprints.api.schemas.base import Time
from forum.blueprints.api.schemas.base import Whole
from forum.blueprints.api.schemas.base import spec
from forum.blueprints.api.schemas.boards import PagedAnswer
from forum.services import notifications
from forum.services import settings

# At most one page's worth of ids and then some: a client marks what it showed.
NOTIFICATION_IDS_MAX = 100

# --- settings: one field per setting, so that a setting added later is declared at once


def _setting_fields(*, answer: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    choices = {
        "registration": settings.REGISTRATION_CHOICES,
        "guest_access": settings.GUEST_ACCESS_CHOICES,
        "search_language": settings.SEARCH_LANGUAGE_CHOICES,
    }
    lengths = {
        "site_name": settings.SITE_NAME_MAX,
        "site_description": settings.SITE_DESCRIPTION_MAX,
        "privacy_policy": settings.PRIVACY_POLICY_MAX,
    }
    for key, default in settings.DEFAULTS.items():
        if key in settings.NUMBER_SETTINGS:
            number = settings.NUMBER_SETTINGS[key]
            limits = {"minimum": number.minimum, "maximum": number.maximum}
            kind: Any = int if answer else Whole
            fields[key] = (
                kind,
                spec(default if not answer else ..., description=number.label, **limits),
            )
        elif isinstance(default, bool):
            fields[key] = (bool if answer else Boolean, spec(default if not answer else ...))
        else:
            schema: dict[str, Any] = {}
            if key in choices:
                schema["enum"] = list(choices[key])
            if key in lengths:
                schema["maxLength"] = lengths[key]
            fields[key] = (str if answer else Text, spec(default if not answer else ..., **schema))
    return fields


Settings = create_model("Settings", __base__=Answer, **_setting_fields(answer=True))
SettingsChange = create_model("SettingsChange", __base__=Body, **_setting_fields(answer=False))


class PrivacyPage(Answer):
    markdown: Annotated[str, Field(description="The admins' text, or the default text")]
    html: Annotated[str, Field(description="The Markdown rendered and sanitised")]
    default: Annotated[bool, Field(description="True while the default text is shown")]


class NotificationsRead(Body):
    messages = {"ids": f"ids must be a list of at most {NOTIFICATION_IDS_MAX} notification ids."}

    ids: Annotated[
        list[Annotated[int, Field(gt=0)]] | None, Field(max_length=NOTIFICATION_IDS_MAX)
    ] = spec(None, description="Omitted or null: all of them")


class Notification(Answer):
    id: Id
    kind: Annotated[
        str, Field(examples=["reply", "mention", "like", "report_handled", "post_hidden"])
    ]
    text: Annotated[str, Field(description="Plain text")]
    post_url: Annotated[str | None, Field(description="The post's page, if it is about one")]
    url: Annotated[
        str | None, Field(description="Where it leads: the post, or the group (its requests)")
    ]
    count: Annotated[int, Field(ge=1, description="Grouped likes: how many since last read")]
    created_at: Time
    read: bool


class NotificationPage(PagedAnswer):
    notifications: list[Notification]
    unread: Count
    next_before: Annotated[
        int | None, Field(description="Ask `?before=` this for the next, older ones; null: none")
    ]


class Marked(Answer):
    marked: Count


class ErrorDetail(Answer):
    code: Annotated[str, Field(examples=["not_found", "invalid", "not_logged_in", "invalid_token"])]
    message: str
    fields: dict[str, str] = Field(
        default_factory=dict, description="Field name to message, for 400 invalid input"
    )


class Error(Answer):
    error: ErrorDetail


class Document(Answer):
    """An OpenAPI 3.1 document."""

    model_config = ConfigDict(extra="allow")


WATCH_LEVELS = ["watching", "tracking", "normal", "muted"]


class WatchChange(Body):
    messages = {"level": "level must be one of: " + ", ".join(WATCH_LEVELS) + "."}

    level: Text = spec(
        enum=WATCH_LEVELS,
        description="watching: every new post (a topic) or topic (a board or group); "
        "tracking (the default): replies to you, mentions, quotes; normal: mentions only; "
        "muted: nothing",
    )


class WatchState(Answer):
    level: Annotated[str, Field(examples=WATCH_LEVELS)]
    chosen: Annotated[bool, Field(description="False: the default (tracking)")]


EMAIL_CHOICES = ["never", "immediately", "digest"]


class PreferenceChange(Body):
    in_app: Boolean = spec(None, description="Shown on your notifications page")
    email: Text = spec(
        None,
        enum=EMAIL_CHOICES,
        description="never (the default); immediately: one mail each (at most one per topic "
        "in 15 minutes); digest: in the daily or weekly summary (see /me/email-settings)",
    )


class Preference(Answer):
    in_app: bool
    email: Annotated[str, Field(examples=EMAIL_CHOICES)]


_CHANGES: dict[str, Any] = {
    kind: (PreferenceChange | None, None) for kind in notifications.PREFERENCE_KINDS
}
_STATES: dict[str, Any] = {kind: (Preference, ...) for kind in notifications.PREFERENCE_KINDS}
NotificationPreferencesChange = create_model(
    "NotificationPreferencesChange", __base__=Body, **_CHANGES
)
NotificationPreferences = create_model("NotificationPreferences", __base__=Answer, **_STATES)


DIGEST_FREQUENCIES = ["daily", "weekly", "off"]


class EmailSettingsChange(Body):
    digest: Text = spec(
        None,
        enum=DIGEST_FREQUENCIES,
        description="How often the kinds set to `digest` are mailed as one summary",
    )
    link_only: Boolean = spec(
        None,
        description="true (the default): each mail holds only a neutral sentence and a link; "
        "false: also who acted and a short plain-text excerpt of the post",
    )


class EmailSettings(Answer):
    digest: Annotated[str, Field(examples=DIGEST_FREQUENCIES)]
    link_only: bool
    address: Annotated[
        bool, Field(description="A confirmed e-mail address is on file (none: nothing is mailed)")
    ]


class UserSuggestions(Answer):
    users: Annotated[list[str], Field(description="Up to 10 names, in order")]
