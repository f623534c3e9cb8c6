"""Accounts: tokens, registering, the member's own account, sessions and profiles."""

from __future__ import annotations

from typing import Annotated
from typing import Any
from typing import Literal

from pydantic import Field

from forum.blueprints.api.schemas.base import Answer
from forum.blueprints.api.schemas.base import Body
from forum.blueprints.api.schemas.base import Boolean
from forum.blueprints.api.schemas.base import Count
from forum.blueprints.api.schemas.base import Id
from forum.blueprints.api.schemas.base import NullableOpaqueText
from forum.blueprints.api.schemas.base import NullableText
from forum.blueprints.api.schemas.base import OpaqueText
from forum.blueprints.api.schemas.base import Text
from forum.blueprints.api.schemas.base import Time
from forum.blueprints.api.schemas.base import TrustLevel
from forum.blueprints.api.schemas.base import Url
from forum.blueprints.api.schemas.base import one_of
from forum.blueprints.api.schemas.base import spec
from forum.models.moderation import SanctionKind
from forum.validation import BIO_MAX
from forum.validation import PASSWORD_MAX
from forum.validation import PASSWORD_MIN
from forum.validation import USERNAME_MAX
from forum.validation import USERNAME_MIN
from forum.validation import USERNAME_RE


def _password() -> Any:
    return spec(minLength=PASSWORD_MIN, maxLength=PASSWORD_MAX)


# --- requests -------------------------------------------------------------------


class Credentials(Body):
    username: Text
    password: Text


class RecoverRequest(Body):
    username: Text
    code: Text
    new_password: Text = _password()


class ResetRequest(Body):
    email: OpaqueText


class ResetWithToken(Body):
    token: OpaqueText
    new_password: Text = _password()


class ProfileChange(Body):
    bio: Text = spec(None, maxLength=BIO_MAX)
    show_join_date: Boolean = None
    email: NullableText = spec(None, description='"" or null removes the address')
    password: Text = spec(None, description="Your password; required with email")


class PasswordChange(Body):
    current_password: Text
    new_password: Text = _password()


class PasswordConfirmation(Body):
    password: Text


class AccountDeletion(Body):
    password: Text
    posts: one_of(("remove", "keep")) = spec(
        description="remove: empty your posts; keep: leave them under a placeholder name"
    )


class Registration(Body):
    username: Text = spec(
        minLength=USERNAME_MIN, maxLength=USERNAME_MAX, pattern=USERNAME_RE.pattern
    )
    password: Text = _password()
    email: NullableText = None
    invite: NullableOpaqueText = spec(None, description="An invitation token (from a link)")


# --- answers --------------------------------------------------------------------


class User(Answer):
    id: Id
    username: str
    trust_level: TrustLevel
    roles: list[Literal["admin", "moderator"]]
    created_at: Annotated[
        str,
        Field(
            json_schema_extra={"format": "date-time"},
            description="The first of the join month, unless shown in full",
        ),
    ]
    bio: str
    label: Annotated[
        str | None,
        Field(description='The role label site admins gave ("Peer supporter"); null: none'),
    ]
    url: Url


class NewUser(User):
    recovery_codes: Annotated[list[str], Field(description="Shown once")]
    group: Annotated[str | None, Field(description="The slug of the group the invitation led into")]


class Profile(User):
    posts_count: Count
    topics_count: Count


class Me(User):
    show_join_date: bool
    has_email: bool
    email_pending: bool
    recovery_codes_left: Count
    silenced_until: Time | None


class TokenAnswer(Answer):
    token: str
    user: User


class UserSession(Answer):
    id: Id
    device: Annotated[str, Field(description='A coarse label, e.g. "Firefox on Android"')]
    created_at: Time
    last_seen_at: Annotated[Time, Field(description="Updated every few minutes, not per request")]
    expires_at: Time
    remembered: bool
    current: bool


class SessionList(Answer):
    sessions: list[UserSession]


class RecoveryCodes(Answer):
    codes: list[str]


class Message(Answer):
    message: str


class DirectoryNote(Answer):
    kind: one_of(k.value for k in SanctionKind)
    until: Annotated[Time | None, Field(description="null: until lifted")]
    group: Annotated[str | None, Field(description="A group's slug; null: site-wide")]


class DirectoryMember(User):
    joined_at: Annotated[Time, Field(description="When the account was made (in full)")]
    posts_count: Annotated[Count, Field(description="Posts you can read")]
    sanctions: list[DirectoryNote]


class DirectoryPage(Answer):
    users: list[DirectoryMember]
    total: Count
    page: Annotated[int, Field(ge=1)]
    pages: Annotated[int, Field(ge=1)]
