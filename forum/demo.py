"""`forum demo`: a small, believable community for trying the forum out."""

from __future__ import annotations

import secrets

from sqlalchemy import func
from sqlalchemy import select

from forum.errors import Conflict
from forum.extensions import db
from forum.models.topics import Topic
from forum.policy import OPERATOR
from forum.policy import actor_for
from forum.services import accounts
from forum.services import boards
from forum.services import posts
from forum.services import topics

BOARDS = [
    ("Welcome", "Say hello, read the guidelines, ask how things work here."),
    ("Staying well", "Day-to-day recovery: cravings, routines, good days and bad days."),
    ("Back on track", "Lapsed? You are welcome back. No judgement, just support."),
    ("Job club", "Vacancies, CVs, disclosure of convictions, interview practice."),
    ("Services and help", "Opening times, drop-ins, helplines and how to get referred."),
]

MEMBERS = ["quietriver", "step_by_step", "morningwalk", "kettle_on", "northstar", "tide-turns"]

CONVERSATIONS = [
    (
        "Welcome",
        "Read me first: how this place works",
        "Welcome! This forum is run by its members. Use any name you like - nobody needs "
        "your real one. Be kind, keep other people's stories to yourself, and report "
        "anything that worries you.",
        ["Thanks, glad to be here.", "Good to know the moderators are members too."],
    ),
    (
        "Staying well",
        "Evenings are the hardest part",
        "Days are fine now, but around 8pm I get restless. What do you all do with evenings?",
        [
            "Walking helps me. Even ten minutes round the block.",
            "I started cooking properly - it takes an hour and I eat better.",
            "Online meetings at 8 saved me in the first months.",
        ],
    ),
    (
        "Back on track",
        "Slipped last weekend",
        "Three months and then Saturday happened. Feeling like I threw it all away.",
        [
            "You didn't throw it away. Three months of learning is still yours.",
            "The service on the high street does same-week appointments if you want them.",
        ],
    ),
    (
        "Job club",
        "Kitchen porter vacancy, starts Monday",
        "The café on Station Road needs a kitchen porter, 25 hours a week. They told me "
        "they are fine with convictions if you're upfront.",
        ["Thanks - applied this morning!"],
    ),
    (
        "Services and help",
        "Drop-in times over the holidays",
        "The drop-in is open Monday and Thursday 10-2 over the holidays. Helpline as usual.",
        [],
    ),
]


def fill_demo() -> str:
    """Create demo boards, members, topics and replies in an empty forum; a summary."""
    if db.session.scalar(select(func.count()).select_from(Topic)):
        raise Conflict("The forum already has topics; `forum demo` only fills an empty one.")
    # No demo admin: the first admin still comes from the one-time set-up link.
    by_name = {}
    for name, description in BOARDS:
        by_name[name] = boards.create_board(OPERATOR, name=name, description=description)
    password = secrets.token_urlsafe(12)
    members = [accounts.create_user(username=name, password=password) for name in MEMBERS]
    count = 0
    for index, (board, title, body, replies) in enumerate(CONVERSATIONS):
        author = members[index % len(members)]
        topic, first = topics.create_topic(
            actor_for(author, guests_read=False), by_name[board], title=title, body=body
        )
        for offset, reply in enumerate(replies, start=1):
            replier = members[(index + offset) % len(members)]
            posts.reply_to_topic(
                actor_for(replier, guests_read=False),
                topic,
                body=reply,
                reply_to=first.id if offset == 1 else None,
            )
            count += 1
    db.session.commit()
    return (
        f"Created {len(BOARDS)} boards, {len(MEMBERS)} members and {len(CONVERSATIONS)} "
        f"topics with {count} replies. Demo members share the password: {password}"
    )
