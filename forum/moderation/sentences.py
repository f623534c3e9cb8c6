"""The moderation log in words: one sentence for each logged action.

Log rows store an action name, a target and a little data for undo; read out as they are
they look like machine output ("sam_admin create group group 2", "Reason: moderator").
`log_lines` turns a page of rows into sentences ("sam_admin created the group Recovery
circle", "A moderator hid a post in “Evenings”") from one table, `_SENTENCES`, that
covers every `forum.audit.Action`; an action it does not know still reads as words.

A sentence never names what its reader may not see: members, topics, posts, boards,
groups and sanctions are looked up through the policy's scopes for that reader, and
whatever is not found is described without a name ("a member", "a topic", "another
board"). Links are not built here: a sentence is a list of plain strings and `Ref`s,
which the template turns into links.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from forum import policy
from forum.audit import Action
from forum.audit import entry_data
from forum.extensions import db
from forum.models.boards import Board
from forum.models.groups import Group
from forum.models.moderation import Sanction
from forum.models.moderation import SanctionKind
from forum.models.modlog import ModerationLog
from forum.models.posts import Post
from forum.models.topics import Topic
from forum.models.users import User
from forum.policy import Actor


@dataclass(frozen=True)
class Ref:
    """Something a sentence names and links to: kind "post", "topic", "user", "group" or
    "board", and the key its page is found by (an id, a username or a slug)."""

    text: str
    kind: str
    key: int | str


Part = str | Ref


@dataclass(frozen=True)
class Line:
    """One log entry in words: the sentence, and the moderator's reason if they gave one."""

    parts: tuple[Part, ...]
    reason: str

    @property
    def text(self) -> str:
        """The sentence as plain text (for labels and tests)."""
        return "".join(p if isinstance(p, str) else p.text for p in self.parts)


@dataclass
class _Known:
    """What the reader may see of the things a page of entries points at."""

    users: dict[int, str] = field(default_factory=dict)
    topics: dict[int, str] = field(default_factory=dict)
    post_topics: dict[int, int] = field(default_factory=dict)
    boards: dict[int, str] = field(default_factory=dict)
    groups: dict[int, tuple[str, str]] = field(default_factory=dict)
    sanctions: dict[int, tuple[int, SanctionKind]] = field(default_factory=dict)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _load(
    actor: Actor, entries: Sequence[ModerationLog], datas: dict[int, dict[str, Any]]
) -> _Known:
    """Look up names through the reader's scopes: a few queries for the whole page."""
    users: set[int] = set()
    posts: set[int] = set()
    topics: set[int] = set()
    boards: set[int] = set()
    sanctions: set[int] = set()
    groups: set[int] = set()
    for entry in entries:
        data = datas[entry.id]
        if entry.actor_id is not None:
            users.add(entry.actor_id)
        if entry.group_id is not None:
            groups.add(entry.group_id)
        kind, target = entry.target_type, entry.target_id
        {"user": users, "post": posts, "topic": topics, "sanction": sanctions}.get(kind, set()).add(
            target
        )
        for key, found in (("user", users), ("post", posts)):
            if (value := _int(data.get(key))) is not None:
                found.add(value)
        for key in ("from_board", "to_board"):
            if (value := _int(data.get(key))) is not None:
                boards.add(value)
    known = _Known()
    if sanctions:
        stmt = policy.visible_sanctions(actor).where(Sanction.id.in_(sorted(sanctions)))
        for sanction in db.session.scalars(stmt):
            known.sanctions[sanction.id] = (sanction.user_id, sanction.kind)
            users.add(sanction.user_id)
    if posts:
        found_posts = policy.visible_posts(actor).where(Post.id.in_(sorted(posts)))
        known.post_topics = {
            post_id: topic_id
            for post_id, topic_id in db.session.execute(
                found_posts.with_only_columns(Post.id, Post.topic_id)
            )
        }
        topics |= set(known.post_topics.values())
    if topics:
        found_topics = policy.visible_topics(actor).where(Topic.id.in_(sorted(topics)))
        known.topics = {
            topic_id: title
            for topic_id, title in db.session.execute(
                found_topics.with_only_columns(Topic.id, Topic.title)
            )
        }
    if boards:
        found_boards = policy.visible_boards(actor).where(Board.id.in_(sorted(boards)))
        known.boards = {
            board_id: name
            for board_id, name in db.session.execute(
                found_boards.with_only_columns(Board.id, Board.name)
            )
        }
    if users:
        found_users = policy.visible_users(actor).where(User.id.in_(sorted(users)))
        known.users = {
            user_id: name
            for user_id, name in db.session.execute(
                found_users.with_only_columns(User.id, User.username)
            )
        }
    if groups:
        found_groups = policy.visible_groups(actor).where(Group.id.in_(sorted(groups)))
        known.groups = {
            group_id: (name, slug)
            for group_id, name, slug in db.session.execute(
                found_groups.with_only_columns(Group.id, Group.name, Group.slug)
            )
        }
    return known


class _Say:
    """The pieces of one entry's sentence, each as far as the reader may see it."""

    def __init__(self, entry: ModerationLog, data: dict[str, Any], known: _Known) -> None:
        self.entry = entry
        self.data = data
        self.known = known

    # Who acted: their name if the reader knows them; the forum itself for the
    # automatic defences and the command line (which log no actor).
    def who(self) -> list[Part]:
        actor_id = self.entry.actor_id
        if actor_id is None:
            return ["The forum"]
        name = self.known.users.get(actor_id)
        return [Ref(name, "user", name)] if name else ["A moderator"]

    def member(self, user_id: int | None) -> list[Part]:
        name = self.known.users.get(user_id) if user_id is not None else None
        return [Ref(name, "user", name)] if name else ["a member"]

    def target_member(self) -> list[Part]:
        """The member the entry is about: its target, or the member its sanction is on."""
        if self.entry.target_type == "user":
            return self.member(self.entry.target_id)
        if self.entry.target_type == "sanction":
            found = self.known.sanctions.get(self.entry.target_id)
            if found is not None:
                return self.member(found[0])
        return self.member(_int(self.data.get("user")))

    def post(self, post_id: int | None = None) -> list[Part]:
        """A post, named by its topic's title when the reader may read the topic."""
        if post_id is None:
            post_id = self.entry.target_id if self.entry.target_type == "post" else None
            post_id = post_id if post_id is not None else _int(self.data.get("post"))
        topic_id = self.known.post_topics.get(post_id) if post_id is not None else None
        title = self.known.topics.get(topic_id) if topic_id is not None else None
        if post_id is None or title is None:
            return ["a post"]
        return ["a post in “", Ref(title, "post", post_id), "”"]

    def topic(self) -> list[Part]:
        title = self.known.topics.get(self.entry.target_id)
        if self.entry.target_type != "topic" or title is None:
            return ["a topic"]
        return ["the topic “", Ref(title, "topic", self.entry.target_id), "”"]

    def board(self, key: str) -> list[Part]:
        board_id = _int(self.data.get(key))
        name = self.known.boards.get(board_id) if board_id is not None else None
        if board_id is None or name is None:
            return ["another board"]
        return ["“", Ref(name, "board", board_id), "”"]

    def group(self) -> list[Part]:
        found = self.known.groups.get(self.entry.group_id or 0)
        if found is None:
            return ["a group" if self.entry.group_id is not None else "the site"]
        return ["the group ", Ref(found[0], "group", found[1])]

    def sanction_word(self) -> str:
        found = self.known.sanctions.get(self.entry.target_id)
        if found is None:
            return "sanction"
        return "silence" if found[1] == SanctionKind.SILENCE else "suspension"


def _role(value: str) -> str:
    return {"owner": "an owner", "moderator": "a moderator", "member": "a member"}.get(
        value, f"“{value}”"
    )


def _days(days: Any) -> str:
    count = _int(days)
    if count is None:
        return "until further notice"
    return "for 1 day" if count == 1 else f"for {count} days"


def _group_settings(say: _Say) -> list[Part]:
    # The row's reason holds what changed ("approve_first_posts=3, log_visible...=true").
    changes = dict(
        part.strip().partition("=")[::2] for part in say.entry.reason.split(",") if "=" in part
    )
    done: list[str] = []
    if "log_visible_to_members" in changes:
        opened = changes["log_visible_to_members"] == "true"
        done.append(
            "opened the moderation log to all members"
            if opened
            else "made the moderation log visible to moderators only"
        )
    if "approve_first_posts" in changes:
        count = changes["approve_first_posts"]
        done.append(
            "stopped holding new members' first posts for approval"
            if count == "0"
            else f"set new members' first {count} posts to wait for approval"
        )
    return [*say.who(), " ", " and ".join(done) or "changed how the group is moderated"]


def _topic_moved(say: _Say) -> list[Part]:
    return [
        *say.who(),
        " moved ",
        *say.topic(),
        " from ",
        *say.board("from_board"),
        " to ",
        *say.board("to_board"),
    ]


def _slow_mode(say: _Say) -> list[Part]:
    minutes = _int(say.data.get("minutes")) or 0
    if minutes == 0:
        return [*say.who(), " turned off slow mode in ", *say.topic()]
    every = "minute" if minutes == 1 else f"{minutes} minutes"
    return [*say.who(), " set slow mode in ", *say.topic(), f": one post per member every {every}"]


def _room(say: _Say) -> str:
    name = say.data.get("name")
    return f"the chat room “{name}”" if isinstance(name, str) and name else "a chat room"


def _chat_settings(say: _Say) -> list[Part]:
    parts: list[str] = []
    seconds = _int(say.data.get("slow_mode_seconds"))
    if seconds is not None:
        parts.append(f"slow mode {seconds} seconds" if seconds else "slow mode off")
    days = _int(say.data.get("retention_days"))
    if days is not None:
        parts.append(f"history kept {days} day{'' if days == 1 else 's'}")
    return [*say.who(), " changed a chat room's settings", f": {', '.join(parts)}" if parts else ""]


def _chat_message(verb: str) -> Sentence:
    def say_it(say: _Say) -> list[Part]:
        return [*say.who(), f" {verb} a chat message by ", *say.member(_int(say.data.get("user")))]

    return say_it


def _message_report(say: _Say) -> list[Part]:
    decision = say.data.get("decision")
    how = {"upheld": "upheld", "dismissed": "dismissed"}.get(
        decision if isinstance(decision, str) else "", "closed"
    )
    return [
        *say.who(),
        f" {how} a report about a private message by ",
        *say.member(_int(say.data.get("user"))),
    ]


def _trust(say: _Say) -> list[Part]:
    after = say.data.get("after")
    level = _int(after.get("level")) if isinstance(after, dict) else _int(say.data.get("level"))
    locked = isinstance(after, dict) and after.get("locked") is True
    where: list[Part] = [" in ", *say.group()] if say.entry.group_id is not None else []
    shown = f" to {level}" if level is not None else ""
    return [
        *say.who(),
        " set the trust level of ",
        *say.target_member(),
        *where,
        shown,
        " (locked)" if locked else "",
    ]


def _label(say: _Say) -> list[Part]:
    after, before = say.data.get("after"), say.data.get("before")
    where: list[Part] = [" in ", *say.group()] if say.entry.group_id is not None else []
    if isinstance(after, str) and after:
        return [*say.who(), " gave ", *say.target_member(), f" the role label “{after}”", *where]
    was = f" “{before}”" if isinstance(before, str) and before else ""
    return [*say.who(), " took away the role label", was, " of ", *say.target_member(), *where]


_DOORS = {
    "link": " through an invitation link",
    "registration": " on registering through an invitation link",
    "request": " when their request to join was accepted",
    "name": " by accepting an invitation",
    "invitation": " by accepting an invitation",
    "creation": " as its first owner",
}


def _joined(say: _Say) -> list[Part]:
    door = say.data.get("door")
    how = _DOORS.get(door, "") if isinstance(door, str) else ""
    return [*say.target_member(), " joined ", *say.group(), how]


def _invitations_revoked(say: _Say) -> list[Part]:
    # The doors' rows list what they revoked; `count` is kept for rows that give one.
    listed = [say.data.get(key) for key in ("links", "member_invitations")]
    count = (
        sum(len(found) for found in listed if isinstance(found, list))
        if any(isinstance(found, list) for found in listed)
        else _int(say.data.get("count"))
    )
    links = "invitation link" if count == 1 else "invitation links"
    what = f"{count} open {links}" if count is not None else "the open invitation links"
    return [*say.who(), f" revoked {what} made by ", *say.target_member()]


# What undoing each action takes back, said of its target ("undid the hiding of ...").
_UNDONE: dict[str, str] = {
    Action.REPORT_DISMISSED: "the dismissal of the reports about",
    Action.POST_HIDDEN: "the hiding of",
    Action.POST_HIDDEN_BY_COMMUNITY: "the automatic hiding of",
    Action.POST_UNHIDDEN: "the showing again of",
    Action.POST_DELETED: "the deletion of",
    Action.POST_RESTORED: "the restoring of",
    Action.POST_APPROVED: "the approval of",
    Action.POST_REJECTED: "the rejection of",
    Action.MEMBER_SILENCED: "the silence on",
    Action.MEMBER_SUSPENDED: "the suspension of",
    Action.MEMBER_AUTO_SILENCED: "the automatic silence on",
    Action.SANCTION_LIFTED: "the lifting of the sanction on",
    Action.TOPIC_LOCKED: "the locking of",
    Action.TOPIC_UNLOCKED: "the unlocking of",
    Action.TOPIC_PINNED: "the pinning of",
    Action.TOPIC_UNPINNED: "the unpinning of",
    Action.TOPIC_CLOSED: "the closing of",
    Action.TOPIC_OPENED: "the reopening of",
    Action.TOPIC_MOVED: "the move of",
    Action.SLOW_MODE_SET: "slow mode in",
}


def _target(say: _Say) -> list[Part]:
    """The entry's target in words, whatever its kind."""
    kind = say.entry.target_type
    if kind in ("post", "report"):
        return say.post()
    if kind == "topic":
        return say.topic()
    if kind in ("user", "sanction"):
        return say.target_member()
    if kind == "group":
        return say.group()
    return [
        {
            "appeal": "an appeal",
            "invitation": "an invitation link",
            "message_report": "a report about a private message",
        }.get(kind, f"a {kind}")
    ]


def _undo(say: _Say) -> list[Part]:
    undone = say.data.get("action")
    what = _UNDONE.get(undone, "an earlier action on") if isinstance(undone, str) else None
    return [*say.who(), f" undid {what or 'an earlier action on'} ", *_target(say)]


Sentence = Callable[["_Say"], list[Part]]


def _verb(verb: str, target: Sentence, after: str = "") -> Sentence:
    """A sentence of the form "<who> <verb> <target><after>"."""

    def say_it(say: _Say) -> list[Part]:
        return [*say.who(), f" {verb} ", *target(say), after]

    return say_it


def _sanctioned(verb: str) -> Sentence:
    def say_it(say: _Say) -> list[Part]:
        where = [" in ", *say.group()] if say.entry.group_id is not None else []
        return [
            *say.who(),
            f" {verb} ",
            *say.target_member(),
            *where,
            " ",
            _days(say.data.get("days")),
        ]

    return say_it


def _sanction_step(verb: str) -> Sentence:
    def say_it(say: _Say) -> list[Part]:
        return [*say.who(), f" {verb} the {say.sanction_word()} on ", *say.target_member()]

    return say_it


# Keyed by `Action` (a test checks every action has one); old names stay readable.
_SENTENCES: dict[str, Sentence] = {
    # Groups (forum.services.groups, forum.services.invitations; issue 10's doors).
    Action.CREATE_GROUP: lambda s: [*s.who(), " created ", *s.group()],
    Action.GROUP_SETTINGS_CHANGED: _group_settings,
    Action.ADD_MEMBER: lambda s: [
        *s.who(),
        " added ",
        *s.target_member(),
        f" to the group as {_role(s.entry.reason)}",
    ],
    Action.SET_ROLE: lambda s: [
        *s.who(),
        " made ",
        *s.target_member(),
        f" {_role(s.entry.reason)}",
    ],
    Action.REMOVE_MEMBER: lambda s: [*s.who(), " removed ", *s.target_member(), " from the group"],
    Action.LEAVE_GROUP: lambda s: [*s.target_member(), " left the group"],
    Action.BREAK_GLASS: lambda s: [*s.who(), " entered ", *s.group(), " through break-glass"],
    Action.CREATE_INVITATION: lambda s: [
        *s.who(),
        " made an invitation link" if s.entry.group_id is not None else " made a site invitation",
    ],
    Action.REVOKE_INVITATION: lambda s: [*s.who(), " revoked an invitation link"],
    Action.MEMBER_JOINED: _joined,
    Action.MEMBER_ALLOWED_BACK: lambda s: [
        *s.who(),
        " allowed ",
        *s.target_member(),
        " back: links, requests and invitations work for them again",
    ],
    Action.JOIN_REQUEST_DECLINED: lambda s: [
        *s.who(),
        " declined the request to join of ",
        *s.target_member(),
        " and kept them from asking again" if s.data.get("keep_out") else "",
    ],
    Action.INVITATIONS_REVOKED: _invitations_revoked,
    # Trust levels and site roles.
    Action.TRUST_LEVEL_GRANTED: _trust,
    Action.GROUP_TRUST_LEVEL_GRANTED: _trust,
    Action.LABEL_SET: _label,
    Action.LABEL_REMOVED: _label,
    Action.SITE_MODERATOR_APPOINTED: lambda s: [
        *s.who(),
        " made ",
        *s.target_member(),
        " a site moderator",
    ],
    Action.SITE_MODERATOR_REMOVED: lambda s: [
        *s.who(),
        " removed ",
        *s.target_member(),
        " from the site moderators",
    ],
    Action.ACCOUNT_DELETED: lambda s: [
        *s.who(),
        " deleted the account of ",
        # A deleted member has no profile: this reads "a member", never the old name.
        *s.target_member(),
        " on request, ",
        "removing their posts" if s.data.get("posts") == "remove" else "keeping their posts",
    ],
    # Reports and posts.
    Action.REPORT_DISMISSED: _verb("dismissed the reports about", lambda s: s.post()),
    Action.POST_HIDDEN: lambda s: (
        [*s.who(), " kept ", *s.post(), " hidden"]
        if s.data.get("kept")
        else [*s.who(), " hid ", *s.post()]
    ),
    Action.POST_HIDDEN_BY_COMMUNITY: lambda s: [
        *_capitalised(s.post()),
        " was hidden automatically after members' reports",
    ],
    Action.POST_UNHIDDEN: _verb("showed", lambda s: s.post(), " again"),
    Action.POST_DELETED: _verb("deleted", lambda s: s.post()),
    Action.POST_RESTORED: _verb("restored", lambda s: s.post()),
    Action.POST_APPROVED: _verb("approved", lambda s: s.post()),
    Action.POST_REJECTED: _verb("did not approve", lambda s: s.post()),
    Action.REVISION_REDACTED: _verb("removed an earlier version of", lambda s: s.post()),
    # Sanctions and appeals.
    Action.MEMBER_SILENCED: _sanctioned("silenced"),
    Action.MEMBER_SUSPENDED: _sanctioned("suspended"),
    Action.MEMBER_AUTO_SILENCED: lambda s: [
        *_capitalised(s.target_member()),
        " was silenced automatically after spam reports, until a moderator looks",
    ],
    Action.SANCTION_CONFIRMED: _sanction_step("confirmed"),
    Action.SANCTION_LIFTED: _sanction_step("lifted"),
    Action.APPEAL_GRANTED: lambda s: [*s.who(), " granted an appeal"],
    Action.APPEAL_DENIED: lambda s: [*s.who(), " turned down an appeal"],
    # Topics.
    Action.TOPIC_LOCKED: _verb("locked", lambda s: s.topic()),
    Action.TOPIC_UNLOCKED: _verb("unlocked", lambda s: s.topic()),
    Action.TOPIC_PINNED: _verb("pinned", lambda s: s.topic()),
    Action.TOPIC_UNPINNED: _verb("unpinned", lambda s: s.topic()),
    Action.TOPIC_CLOSED: _verb("closed", lambda s: s.topic()),
    Action.TOPIC_OPENED: _verb("reopened", lambda s: s.topic()),
    Action.TOPIC_MOVED: _topic_moved,
    Action.SLOW_MODE_SET: _slow_mode,
    # Chat rooms.
    Action.CHAT_ROOM_OPENED: lambda s: [*s.who(), f" opened {_room(s)} in ", *s.group()],
    Action.CHAT_ROOM_SETTINGS_CHANGED: _chat_settings,
    Action.CHAT_MESSAGE_HIDDEN: _chat_message("hid"),
    Action.CHAT_REPORTS_DISMISSED: _chat_message("dismissed the reports about"),
    # Private messages.
    Action.MESSAGE_REPORT_RESOLVED: _message_report,
    Action.UNDO: _undo,
}

# Actions whose row keeps something else than a moderator's reason in `reason`: the role
# given (add_member, set_role) or what changed (group_settings_changed).
_REASON_IS_DATA = frozenset({Action.ADD_MEMBER, Action.SET_ROLE, Action.GROUP_SETTINGS_CHANGED})


def _capitalised(parts: list[Part]) -> list[Part]:
    first = parts[0] if parts else ""
    if isinstance(first, str) and first:
        return [first[0].upper() + first[1:], *parts[1:]]
    return parts


def _fallback(say: _Say) -> list[Part]:
    """An action this table does not know (yet): its name in words, and its target."""
    words = say.entry.action.replace("_", " ").strip() or "acted"
    return [*say.who(), f": {words} (", *_target(say), ")"]


def _sentence(entry: ModerationLog, data: dict[str, Any], known: _Known) -> Line:
    """One entry in words (see `log_lines`)."""
    say = _Say(entry, data, known)
    parts = _capitalised(_SENTENCES.get(entry.action, _fallback)(say))
    reason = "" if entry.action in _REASON_IS_DATA else (entry.reason or "").strip()
    return Line((*[p for p in parts if p != ""], "."), reason)


def log_lines(actor: Actor, entries: Sequence[ModerationLog]) -> dict[int, Line]:
    """The entries (already in the actor's log scope) as sentences, by entry id, naming
    only what the actor may see."""
    datas = {entry.id: entry_data(entry) for entry in entries}
    known = _load(actor, entries, datas)
    return {entry.id: _sentence(entry, datas[entry.id], known) for entry in entries}
