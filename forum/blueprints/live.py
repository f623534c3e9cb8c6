"""Live pages: the token an open page polls with, and what it answers.

A token names one thing and its revision counter: `t<topic id>.<revision>` for a topic
(`Topic.revision`, bumped by every reply, edit, delete or hide) and `r<room id>.<revision>`
for a chat room (`ChatRoom.revision`). Each poll loads the thing through its policy guard
(a narrow primary-key lookup: a member removed from a group gets 404 at the next poll, and a
token for something hidden answers exactly like one for nothing), then compares one
integer. When nothing changed the answer is a `304` to the page's `If-None-Match`.
"""

from __future__ import annotations

import re

from forum import policy
from forum.errors import Invalid
from forum.errors import NotFound
from forum.models.chat import ChatRoom
from forum.models.topics import Topic
from forum.policy import Actor

TOKEN_RE = re.compile(r"([tr])([0-9]{1,9})\.([0-9]{1,9})")
# How often the page's script asks (seconds): new posts show within this time.
POLL_SECONDS = 4


def topic_token(topic: Topic) -> str:
    """The live token of a topic as it is now."""
    return f"t{topic.id}.{topic.revision}"


def room_token(room: ChatRoom) -> str:
    """The live token of a chat room as it is now."""
    return f"r{room.id}.{room.revision}"


def current_token(actor: Actor, since: str) -> str:
    """The current token of what `since` names, as the actor may see it: `Invalid` for a
    malformed token, `NotFound` for something absent or hidden from them."""
    match = TOKEN_RE.fullmatch(since or "")
    if match is None:
        raise Invalid("since", "since must be a token from a page (t<id>.<n> or r<id>.<n>).")
    kind, key = match.group(1), int(match.group(2))
    if key < 1:
        raise NotFound()
    if kind == "t":
        return f"t{key}.{policy.require_topic_revision(actor, key)}"
    return room_token(policy.require_chat_room(actor, key))
