"""Who may see and do what: the one place that decides.

Four kinds of function live here, and nowhere else:

* scopes (`visible_boards`, `visible_topics`, `visible_posts`, `visible_users`, ...) return
  a `Select` that every list and lookup starts from, so that nothing can forget a filter;
* checks (`check_reply`, `check_moderate`, ...) raise with the reason for a refusal:
  `NotLoggedIn` (401), `NotFound` (404: the actor cannot see the thing, and nothing more
  may be said) or `Denied` (403, with a code such as `silenced` or `locked`: they can see
  it but may not do this), sometimes `Conflict` (409);
* predicates (`can_reply`, `can_moderate`, ...) return a bool for one object; where a
  rule has a reason they are derived from its check with `passes(check, ...)`, so that
  buttons, pages and the API give the same answer and no caller works the reason out again;
* guards (`require_topic`, `require_moderator`, ...) load through a scope (or check a
  role) and raise, so that hidden and absent look exactly alike.

Functions take an `Actor`, built once per request by `actor_for`, never `current_user`,
`request` or `g` (a test scans every module of this package).

The package is one API (`from forum import policy; policy.can_reply(...)`): every public
name is re-exported here. Inside, the modules import one another in one direction only:

    actors -> checks -> ranks -> groups -> content -> moderation -> users -> messages
    actors -> checks -> ranks -> groups -> content -> moderation -> users -> meetings
    -> presentation

* `actors`: the `Actor`, built from the database (`actor_for`) with the group facts cache;
* `checks`: the check machinery (`passes`, `require_member`, the `silenced` reason);
* `ranks`: roles and ranks: admins, who moderates which scope (`require_moderator`,
  `check_moderate`, `check_moderate_scope`), at what rank, and over whom;
* `groups`: groups, their members, doors (invitations, join requests) and break-glass;
* `content`: boards, topics and posts: their scopes, guards, and the writing rules;
* `moderation`: reports, sanctions, appeals and the log: scopes, guards, decisions;
* `users`: members' profiles, the admins' directory, trust grants, notifications;
* `messages`: private conversations, their messages, blocks, and the moderators'
  window onto a reported message;
* `meetings`: group and site meetings: who sees them, their details, answers them, runs them;
* `presentation`: what the page cache needs (view variants, post action maps), derived
  from the rules but kept apart from them.

Chat gets its own module when it comes (`chat.py`, above `users`), like `messages`.
"""

from __future__ import annotations

from forum.policy.actors import OPERATOR
from forum.policy.actors import SYSTEM
from forum.policy.actors import Actor
from forum.policy.actors import FactsCache
from forum.policy.actors import GroupFacts
from forum.policy.actors import actor_for
from forum.policy.chat import can_manage_chat_room
from forum.policy.chat import can_moderate_chat_room
from forum.policy.chat import can_open_chat_room
from forum.policy.chat import can_post_chat_message
from forum.policy.chat import can_report_chat_message
from forum.policy.chat import can_see_chat_room
from forum.policy.chat import check_manage_chat_room
from forum.policy.chat import check_moderate_chat_room
from forum.policy.chat import check_open_chat_room
from forum.policy.chat import check_post_chat_message
from forum.policy.chat import check_report_chat_message
from forum.policy.chat import require_chat_message
from forum.policy.chat import require_chat_room
from forum.policy.chat import visible_chat_messages
from forum.policy.chat import visible_chat_reports
from forum.policy.chat import visible_chat_rooms
from forum.policy.checks import REFUSALS
from forum.policy.checks import WriteCheck
from forum.policy.checks import passes
from forum.policy.checks import require_member
from forum.policy.checks import silenced_in
from forum.policy.content import can_create_board
from forum.policy.content import can_delete_post
from forum.policy.content import can_edit_post
from forum.policy.content import can_like_post
from forum.policy.content import can_post_links
from forum.policy.content import can_post_topic
from forum.policy.content import can_redact_revision
from forum.policy.content import can_reply
from forum.policy.content import can_report_post
from forum.policy.content import can_see_board
from forum.policy.content import can_see_post
from forum.policy.content import can_see_post_body
from forum.policy.content import can_see_revisions
from forum.policy.content import can_see_topic
from forum.policy.content import check_create_board
from forum.policy.content import check_delete_post
from forum.policy.content import check_edit_post
from forum.policy.content import check_like_post
from forum.policy.content import check_post_topic
from forum.policy.content import check_redact_revision
from forum.policy.content import check_reply
from forum.policy.content import check_report_post
from forum.policy.content import erasable_posts
from forum.policy.content import erasable_topics
from forum.policy.content import readable_board_ids
from forum.policy.content import require_board
from forum.policy.content import require_post
from forum.policy.content import require_topic
from forum.policy.content import require_topic_revision
from forum.policy.content import scope_statement
from forum.policy.content import visible_boards
from forum.policy.content import visible_posts
from forum.policy.content import visible_topics
from forum.policy.groups import can_break_glass
from forum.policy.groups import can_invite
from forum.policy.groups import can_invite_by_name
from forum.policy.groups import can_manage_group
from forum.policy.groups import can_request_to_join
from forum.policy.groups import can_see_group
from forum.policy.groups import can_see_group_log
from forum.policy.groups import can_see_invitations
from forum.policy.groups import can_see_members
from forum.policy.groups import check_break_glass
from forum.policy.groups import check_invite
from forum.policy.groups import check_invite_by_name
from forum.policy.groups import check_manage_group
from forum.policy.groups import check_request_to_join
from forum.policy.groups import check_see_members
from forum.policy.groups import require_group
from forum.policy.groups import visible_groups
from forum.policy.groups import visible_members
from forum.policy.meetings import can_answer_meeting
from forum.policy.meetings import can_manage_meetings
from forum.policy.meetings import can_see_meeting_details
from forum.policy.meetings import check_answer_meeting
from forum.policy.meetings import check_manage_meetings
from forum.policy.meetings import is_meeting_member
from forum.policy.meetings import require_meeting
from forum.policy.meetings import visible_meetings
from forum.policy.messages import MAX_PARTICIPANTS
from forum.policy.messages import REPORT_CONTEXT
from forum.policy.messages import blocked_ids
from forum.policy.messages import blockers_of
from forum.policy.messages import can_add_participants
from forum.policy.messages import can_block
from forum.policy.messages import can_delete_message
from forum.policy.messages import can_message_member
from forum.policy.messages import can_report_message
from forum.policy.messages import can_send_message
from forum.policy.messages import check_add_participant
from forum.policy.messages import check_block
from forum.policy.messages import check_delete_message
from forum.policy.messages import check_leave_conversation
from forum.policy.messages import check_message_member
from forum.policy.messages import check_report_message
from forum.policy.messages import check_send_message
from forum.policy.messages import participation
from forum.policy.messages import reported_message_window
from forum.policy.messages import require_conversation
from forum.policy.messages import require_message
from forum.policy.messages import require_message_report
from forum.policy.messages import visible_conversations
from forum.policy.messages import visible_message_reports
from forum.policy.messages import visible_messages
from forum.policy.moderation import can_decide_appeal
from forum.policy.moderation import can_resolve_report
from forum.policy.moderation import can_undo_log_entry
from forum.policy.moderation import check_decide_appeal
from forum.policy.moderation import check_resolve_report
from forum.policy.moderation import check_undo_log_entry
from forum.policy.moderation import require_appeal
from forum.policy.moderation import require_log_entry
from forum.policy.moderation import require_report
from forum.policy.moderation import require_sanction
from forum.policy.moderation import visible_appeals
from forum.policy.moderation import visible_log_entries
from forum.policy.moderation import visible_reports
from forum.policy.moderation import visible_sanctions
from forum.policy.presentation import PostFacts
from forum.policy.presentation import board_view_variant
from forum.policy.presentation import post_actions
from forum.policy.presentation import topic_post_actions
from forum.policy.presentation import topic_view_variant
from forum.policy.ranks import RANK_ADMIN
from forum.policy.ranks import RANK_GROUP_MODERATOR
from forum.policy.ranks import RANK_GROUP_OWNER
from forum.policy.ranks import RANK_NONE
from forum.policy.ranks import RANK_SITE_MODERATOR
from forum.policy.ranks import can_act_on_member
from forum.policy.ranks import can_administer
from forum.policy.ranks import can_appoint_site_moderators
from forum.policy.ranks import can_moderate
from forum.policy.ranks import can_moderate_anywhere
from forum.policy.ranks import can_moderate_scope
from forum.policy.ranks import check_act_on_member
from forum.policy.ranks import check_appoint_site_moderators
from forum.policy.ranks import check_moderate
from forum.policy.ranks import check_moderate_scope
from forum.policy.ranks import member_rank
from forum.policy.ranks import member_trust_level
from forum.policy.ranks import moderated_board_ids
from forum.policy.ranks import moderation_rank
from forum.policy.ranks import require_admin
from forum.policy.ranks import require_moderator
from forum.policy.users import can_grant_trust
from forum.policy.users import can_hide_label
from forum.policy.users import can_see_user
from forum.policy.users import can_set_label
from forum.policy.users import check_change_bio
from forum.policy.users import check_grant_trust
from forum.policy.users import check_hide_label
from forum.policy.users import check_set_label
from forum.policy.users import directory_users
from forum.policy.users import require_user
from forum.policy.users import shown_label
from forum.policy.users import visible_notifications
from forum.policy.users import visible_users

__all__ = [
    "MAX_PARTICIPANTS",
    "REPORT_CONTEXT",
    "blocked_ids",
    "blockers_of",
    "can_add_participants",
    "can_block",
    "can_delete_message",
    "can_message_member",
    "can_report_message",
    "can_send_message",
    "check_add_participant",
    "check_block",
    "check_delete_message",
    "check_leave_conversation",
    "check_message_member",
    "check_report_message",
    "check_send_message",
    "participation",
    "reported_message_window",
    "require_conversation",
    "require_message",
    "require_message_report",
    "visible_conversations",
    "visible_message_reports",
    "visible_messages",
    "can_manage_chat_room",
    "can_moderate_chat_room",
    "can_open_chat_room",
    "can_post_chat_message",
    "can_report_chat_message",
    "can_see_chat_room",
    "check_manage_chat_room",
    "check_moderate_chat_room",
    "check_open_chat_room",
    "check_post_chat_message",
    "check_report_chat_message",
    "require_chat_message",
    "require_chat_room",
    "visible_chat_messages",
    "visible_chat_reports",
    "visible_chat_rooms",
    "can_answer_meeting",
    "can_manage_meetings",
    "can_see_meeting_details",
    "check_answer_meeting",
    "check_manage_meetings",
    "is_meeting_member",
    "require_meeting",
    "visible_meetings",
    "Actor",
    "FactsCache",
    "GroupFacts",
    "OPERATOR",
    "PostFacts",
    "RANK_ADMIN",
    "RANK_GROUP_MODERATOR",
    "RANK_GROUP_OWNER",
    "RANK_NONE",
    "RANK_SITE_MODERATOR",
    "REFUSALS",
    "SYSTEM",
    "WriteCheck",
    "actor_for",
    "board_view_variant",
    "can_act_on_member",
    "can_administer",
    "can_appoint_site_moderators",
    "can_break_glass",
    "can_create_board",
    "can_decide_appeal",
    "can_delete_post",
    "can_edit_post",
    "can_grant_trust",
    "can_hide_label",
    "can_invite",
    "can_invite_by_name",
    "can_like_post",
    "can_manage_group",
    "can_moderate",
    "can_moderate_anywhere",
    "can_moderate_scope",
    "can_post_links",
    "can_post_topic",
    "can_redact_revision",
    "can_reply",
    "can_report_post",
    "can_request_to_join",
    "can_resolve_report",
    "can_see_board",
    "can_see_group",
    "can_see_group_log",
    "can_see_invitations",
    "can_see_members",
    "can_see_post",
    "can_see_post_body",
    "can_see_revisions",
    "can_see_topic",
    "can_see_user",
    "can_set_label",
    "can_undo_log_entry",
    "check_act_on_member",
    "check_appoint_site_moderators",
    "check_break_glass",
    "check_change_bio",
    "check_create_board",
    "check_decide_appeal",
    "check_delete_post",
    "check_edit_post",
    "check_grant_trust",
    "check_hide_label",
    "check_set_label",
    "check_invite",
    "check_invite_by_name",
    "check_like_post",
    "check_manage_group",
    "check_moderate",
    "check_moderate_scope",
    "check_post_topic",
    "check_redact_revision",
    "check_reply",
    "check_report_post",
    "check_request_to_join",
    "check_resolve_report",
    "check_see_members",
    "check_undo_log_entry",
    "directory_users",
    "member_rank",
    "member_trust_level",
    "moderated_board_ids",
    "moderation_rank",
    "passes",
    "post_actions",
    "readable_board_ids",
    "require_admin",
    "require_appeal",
    "require_board",
    "require_group",
    "require_log_entry",
    "require_member",
    "require_moderator",
    "require_post",
    "require_report",
    "require_sanction",
    "require_topic",
    "require_topic_revision",
    "scope_statement",
    "require_user",
    "shown_label",
    "silenced_in",
    "topic_post_actions",
    "topic_view_variant",
    "visible_appeals",
    "visible_boards",
    "visible_groups",
    "visible_log_entries",
    "visible_members",
    "visible_notifications",
    "erasable_posts",
    "erasable_topics",
    "visible_posts",
    "visible_reports",
    "visible_sanctions",
    "visible_topics",
    "visible_users",
]
