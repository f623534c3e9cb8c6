"""Groups: the groups themselves, members and roles, invitations (links and by name),
join requests, who a group keeps out, break-glass and the group's moderation settings."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from forum.blueprints.api.schemas.base import Answer
from forum.blueprints.api.schemas.base import Body
from forum.blueprints.api.schemas.base import Boolean
from forum.blueprints.api.schemas.base import Count
from forum.blueprints.api.schemas.base import Id
from forum.blueprints.api.schemas.base import NullableText
from forum.blueprints.api.schemas.base import Number
from forum.blueprints.api.schemas.base import Text
from forum.blueprints.api.schemas.base import Time
from forum.blueprints.api.schemas.base import Url
from forum.blueprints.api.schemas.base import Whole
from forum.blueprints.api.schemas.base import one_of
from forum.blueprints.api.schemas.base import spec
from forum.models.groups import ExclusionKind
from forum.models.groups import RequestState
from forum.models.groups import Role
from forum.models.groups import Visibility
from forum.models.invitations import MemberInvitationState
from forum.services.groups import APPROVE_FIRST_POSTS_MAX
from forum.services.groups import BREAK_GLASS_REASON_MIN
from forum.services.invitations import DEFAULT_HOURS
from forum.services.invitations import MAX_HOURS
from forum.services.invitations import MAX_USES
from forum.validation import DESCRIPTION_MAX
from forum.validation import NAME_MAX
from forum.validation import REASON_MAX
from forum.validation import SLUG_MAX
from forum.validation import SLUG_RE

ROLES = [r.value for r in Role]
VISIBILITIES = [v.value for v in Visibility]
RoleName = one_of(ROLES)
VisibilityName = one_of(VISIBILITIES)
Slug = Annotated[str, Field(pattern=SLUG_RE.pattern, max_length=SLUG_MAX)]

# --- requests -------------------------------------------------------------------


class NewGroup(Body):
    name: Text = spec(minLength=1, maxLength=NAME_MAX)
    slug: Text = spec(pattern=SLUG_RE.pattern, maxLength=SLUG_MAX)
    visibility: Text = spec(enum=VISIBILITIES)
    description: Text = spec(None, maxLength=DESCRIPTION_MAX)
    owner: NullableText = spec(None, description="A username; defaults to you")


class RoleChange(Body):
    role: Text = spec(enum=ROLES)


class JoinRequestDecline(Body):
    keep_out: Boolean = spec(False, description="Do not let them ask again")


class InvitationDraft(Body):
    max_uses: Whole = spec(1, minimum=1, maximum=MAX_USES)
    expires_in_hours: Whole = spec(DEFAULT_HOURS, minimum=1, maximum=MAX_HOURS)


class BreakGlassRequest(Body):
    reason: Text = spec(
        minLength=BREAK_GLASS_REASON_MIN, maxLength=REASON_MAX, description="Logged"
    )


class GroupModerationChange(Body):
    log_visible_to_members: Boolean = None
    approve_first_posts: Whole = spec(None, minimum=0, maximum=APPROVE_FIRST_POSTS_MAX)


# --- answers --------------------------------------------------------------------


class Group(Answer):
    id: Id
    name: str
    slug: Slug
    description: str
    visibility: VisibilityName
    url: Url
    members_count: Annotated[
        Count | None, Field(description="null unless you may see who is in the group")
    ]
    role: Annotated[RoleName | None, Field(description="Yours; null if not a member")]


class GroupList(Answer):
    groups: list[Group]


class Member(Answer):
    username: str
    role: RoleName
    joined_at: Annotated[Time, Field(description="The first of the month they joined the group")]
    label: Annotated[
        str | None,
        Field(
            description="Their role label inside the group (its own, else the site's); null: none"
        ),
    ]
    url: Url


class MemberList(Answer):
    members: list[Member]


class JoinRequest(Answer):
    id: Id
    username: str
    user_url: Url
    state: one_of(s.value for s in RequestState)
    created_at: Time
    decided_at: Time | None


class JoinRequestList(Answer):
    join_requests: list[JoinRequest]


class Invitation(Answer):
    id: Id
    created_at: Time
    created_by: Annotated[str | None, Field(description="Who made the link; null: account gone")]
    expires_at: Time
    max_uses: Number
    uses: Count
    working: Annotated[bool, Field(description="false while its maker may not invite")]


class InvitationList(Answer):
    invitations: list[Invitation]


class MemberInvitation(Answer):
    id: Id
    username: str
    user_url: Url
    role: RoleName
    state: one_of(s.value for s in MemberInvitationState)
    invited_by: str | None
    created_at: Time
    decided_at: Time | None


class MemberInvitationList(Answer):
    invitations: list[MemberInvitation]


class InvitingGroup(Answer):
    name: str
    description: str
    visibility: VisibilityName


class MyInvitation(Answer):
    id: Id
    group: InvitingGroup
    role: RoleName
    invited_by: str | None
    created_at: Time
    url: Annotated[str, Field(description="Your invitations page in the browser")]


class MyInvitationList(Answer):
    invitations: list[MyInvitation]


class Exclusion(Answer):
    username: str
    kind: one_of(k.value for k in ExclusionKind)
    created_at: Time
    by: Annotated[str | None, Field(description="Who removed or declined them")]


class ExclusionList(Answer):
    exclusions: list[Exclusion]


class NewInvitation(Answer):
    id: Id
    token: Annotated[str, Field(description="Shown only in this answer")]
    url: Annotated[str, Field(description="The invitation's page in the browser: /invite/<token>")]
    link: Annotated[
        str,
        Field(
            description="The full link to share, on the host and port this request came in "
            "on (a configured https address keeps https)"
        ),
    ]
    expires_at: Time
    max_uses: Number
    uses: Count


class Acceptance(Answer):
    group: Group | None
    member: Member | None


class AdminGroup(Answer):
    id: Id
    name: str
    slug: Slug
    visibility: VisibilityName
    members_count: Count


class AdminGroupList(Answer):
    groups: list[AdminGroup]


class BreakGlass(Answer):
    group: Group
    expires_at: Time


class GroupModeration(Answer):
    log_visible_to_members: bool
    approve_first_posts: Annotated[int, Field(ge=0, le=APPROVE_FIRST_POSTS_MAX)]


class LabelChoice(Body):
    shown: Boolean = spec(description="false: no role label of yours shows inside the group")


class MyLabel(Answer):
    label: Annotated[
        str | None,
        Field(description="Your label inside the group (its own, else the site's); null: none"),
    ]
    shown: Annotated[bool, Field(description="Whether you let it show inside the group")]
