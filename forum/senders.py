"""Reminder senders: how a reminder leaves the forum (e-mail, the log, a provider's SMS).

A sender is a small object with a `name` and `deliver(app, recipient, message)`. It is
handed a `Message` that is already neutral - no meeting title, no group's name, no post's
words, built when the reminder is sent through the member's permissions of that moment
(forum.services.reminder_senders) - and a `Recipient` that names the member by id and by
a keyed hash, never by a phone number. `deliver` raises to have the outbox retry it
(1 min, 5 min, ... as for mail); returning means "done" (sent, or nothing to send).

Which senders run is the setting `FORUM_REMINDER_SENDERS` (default `email`): a comma-
separated list of names, each one of

* a built-in sender: `email` (the member's per-kind e-mail choice decides, as for every
  notification; forum.services.reminder_senders) or `log` (one line per reminder);
* a name a package registers in the `forum.senders` entry-point group;
* an import path, `package.module:ClassName`.

The list is resolved once, when the app starts (`configure`): a name that resolves to
nothing stops the start (and `forum init`) with a message that says what to write, rather
than failing at the first reminder. Each reminder is queued once per sender (one outbox
row each), so a provider that is down is retried without mailing the member twice.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any
from typing import Protocol
from typing import runtime_checkable

from flask import Flask
from flask import current_app

from forum import outbox

log = logging.getLogger("forum.senders")

SETTING = "FORUM_REMINDER_SENDERS"
ENTRY_POINT_GROUP = "forum.senders"
# The outbox kind of one reminder for one sender (handled in forum.services.
# reminder_senders, which builds the message when it is sent).
KIND = "reminder_send"
EXTENSION = "forum_reminder_senders"
EMAIL = "email"
LOG = "log"
NAME_MAX = 40


@dataclass(frozen=True)
class Recipient:
    """Whom a reminder is for: the member's id (a provider's sender looks up its own
    opt-in, e.g. a phone number the member gave it) and the keyed hash the log shows."""

    user_id: int
    digest: str
    timezone: str


@dataclass(frozen=True)
class Message:
    """A reminder as a sender gets it: a neutral sentence and an absolute link."""

    kind: str
    text: str
    url: str
    notification_id: int

    def plain(self) -> str:
        """The sentence and the link, as one short text (an SMS)."""
        return f"{self.text} {self.url}"


@runtime_checkable
class Sender(Protocol):
    """What every reminder sender provides (see the module docstring)."""

    name: str

    def deliver(self, app: Flask, recipient: Recipient, message: Message) -> None:
        """Send one reminder now; raise to have it retried later."""
        ...  # pragma: no cover - a protocol


Factory = Callable[[], Sender]
# The built-in senders, by name; modules register theirs on import (`register`).
BUILT_IN: dict[str, Factory] = {}


def register(name: str) -> Callable[[Factory], Factory]:
    """Class decorator: make a sender available under `name` in FORUM_REMINDER_SENDERS."""

    def add(factory: Factory) -> Factory:
        BUILT_IN[name] = factory
        return factory

    return add


@register(LOG)
class LogSender:
    """Writes one line per reminder to the log (`forum.senders`): the member as a keyed
    hash (forum.mail.recipient_digest), the neutral sentence and the link. For a forum
    without mail, and to see what a provider's sender would be given."""

    name = LOG

    def deliver(self, app: Flask, recipient: Recipient, message: Message) -> None:
        """Log the reminder (never an address or a phone number)."""
        log.info("reminder to %s: %s", recipient.digest, message.plain())


class SenderError(RuntimeError):
    """FORUM_REMINDER_SENDERS names something that is not a sender."""


def _names(value: Any) -> list[str]:
    if value is None:
        return [EMAIL]
    items: Iterable[Any] = value.split(",") if isinstance(value, str) else value
    names: list[str] = []
    for item in items:
        name = str(item).strip()
        if name and name not in names:
            names.append(name)
    return names


def _help(name: str) -> str:
    known = ", ".join(
        sorted({*BUILT_IN, *(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))})
    )
    return (
        f"{SETTING}: {name!r} is not a reminder sender. Use a comma-separated list of "
        f"{known} (built in, or registered in the {ENTRY_POINT_GROUP!r} entry-point group), "
        "or import paths such as mypackage.sms:GatewaySender; empty for in-app reminders only."
    )


def _factory(name: str) -> Factory:
    if name in BUILT_IN:
        return BUILT_IN[name]
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            found: Factory = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError, ValueError) as exc:
            raise SenderError(f"{_help(name)} ({exc})") from exc
        return found
    for entry in entry_points(group=ENTRY_POINT_GROUP, name=name):
        loaded: Factory = entry.load()
        return loaded
    raise SenderError(_help(name))


def resolve(value: Any) -> dict[str, Sender]:
    """The senders a FORUM_REMINDER_SENDERS value names, by name, in its order; a
    `SenderError` saying what to write if one is not a sender."""
    found: dict[str, Sender] = {}
    for name in _names(value):
        try:
            sender = _factory(name)()
        except SenderError:
            raise
        except Exception as exc:  # noqa: BLE001 - a provider's constructor: say which one
            raise SenderError(f"{SETTING}: the sender {name!r} could not start: {exc}") from exc
        own = getattr(sender, "name", None)
        if not isinstance(sender, Sender) or not isinstance(own, str) or not own:
            raise SenderError(
                f"{SETTING}: {name!r} is not a reminder sender (it needs a `name` and a "
                "`deliver(app, recipient, message)` method)."
            )
        if len(own) > NAME_MAX:
            raise SenderError(f"{SETTING}: the sender name {own!r} is over {NAME_MAX} letters.")
        if own in found:
            raise SenderError(f"{SETTING}: two senders are called {own!r}.")
        found[own] = sender
    return found


def configure(app: Flask) -> None:
    """Resolve the app's FORUM_REMINDER_SENDERS once, at start (raises `SenderError`)."""
    app.extensions[EXTENSION] = resolve(app.config.get(SETTING))


def configured(app: Flask) -> dict[str, Sender]:
    """The app's senders, by name."""
    senders: dict[str, Sender] = app.extensions.get(EXTENSION) or {}
    return senders


def queue(notification_id: int, *, email: bool, details: dict[str, Any] | None = None) -> int:
    """Queue a reminder (a notification just made, in the current transaction) for each
    configured sender: one outbox row each, so each sends once. `email`: the member chose
    immediate mail for its kind (else the e-mail sender has nothing to do). The number
    of rows queued."""
    queued = 0
    for name in configured(current_app):
        if name == EMAIL and not email:
            continue
        outbox.enqueue(
            KIND, {"notification_id": notification_id, "sender": name, **(details or {})}
        )
        queued += 1
    return queued
