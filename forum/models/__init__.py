"""Every model, imported here so that Alembic and `db.create_all` see them all."""

from __future__ import annotations

from forum.models.activity import PostLike
from forum.models.activity import TopicRead
from forum.models.activity import UserStats
from forum.models.activity import UserVisit
from forum.models.boards import Board
from forum.models.chat import ChatMessage
from forum.models.chat import ChatReport
from forum.models.chat import ChatRoom
from forum.models.email import EmailSettings
from forum.models.email import MailThrottle
from forum.models.groups import BreakGlass
from forum.models.groups import Group
from forum.models.groups import GroupExclusion
from forum.models.groups import JoinRequest
from forum.models.groups import Membership
from forum.models.invitations import Invitation
from forum.models.invitations import InvitationUse
from forum.models.invitations import MemberInvitation
from forum.models.meetings import Meeting
from forum.models.meetings import MeetingAnswer
from forum.models.meetings import MeetingReminderSent
from forum.models.meetings import MemberCalendar
from forum.models.meetings import PersonalReminder
from forum.models.messages import Conversation
from forum.models.messages import ConversationMessage
from forum.models.messages import ConversationParticipant
from forum.models.messages import MessageReport
from forum.models.messages import UserBlock
from forum.models.moderation import Appeal
from forum.models.moderation import Flag
from forum.models.moderation import Report
from forum.models.moderation import Sanction
from forum.models.modlog import ModerationLog
from forum.models.notifications import Notification
from forum.models.notifications import NotificationPreference
from forum.models.notifications import Watch
from forum.models.outbox import OutboxRow
from forum.models.posts import Post
from forum.models.posts import PostEdit
from forum.models.posts import PostRevision
from forum.models.security import ThrottleEvent
from forum.models.sessions import UserSession
from forum.models.settings import SiteSetting
from forum.models.topics import Topic
from forum.models.users import ApiToken
from forum.models.users import RecoveryCode
from forum.models.users import User

__all__ = [
    "ApiToken",
    "Appeal",
    "Board",
    "BreakGlass",
    "EmailSettings",
    "Conversation",
    "ConversationMessage",
    "ConversationParticipant",
    "ChatMessage",
    "ChatReport",
    "ChatRoom",
    "Flag",
    "Group",
    "GroupExclusion",
    "Invitation",
    "InvitationUse",
    "JoinRequest",
    "MailThrottle",
    "Meeting",
    "MeetingAnswer",
    "MeetingReminderSent",
    "MemberCalendar",
    "MemberInvitation",
    "MessageReport",
    "Membership",
    "ModerationLog",
    "Notification",
    "NotificationPreference",
    "Watch",
    "OutboxRow",
    "Post",
    "PostEdit",
    "PostLike",
    "PersonalReminder",
    "PostRevision",
    "RecoveryCode",
    "Report",
    "Sanction",
    "SiteSetting",
    "ThrottleEvent",
    "Topic",
    "TopicRead",
    "User",
    "UserBlock",
    "UserSession",
    "UserStats",
    "UserVisit",
]
