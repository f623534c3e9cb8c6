"""Outgoing mail, through the outbox: written to the log by default, sent by SMTP when
FORUM_MAIL_URL is set.

`send` only queues the mail (a row in the current transaction, forum.outbox); the
"mail" handler delivers it once that transaction has committed. So a mail goes out only
for a change that was saved, a worker killed before the send loses nothing, and a mail
server that is down is retried with backoff.
"""

from __future__ import annotations

import email.policy
import hashlib
import hmac
import logging
import re
import smtplib
import ssl
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from email.message import EmailMessage
from typing import Any
from urllib.parse import unquote
from urllib.parse import urlsplit

from flask import Flask

from forum import outbox

log = logging.getLogger("forum.mail")


@dataclass
class Mail:
    """An outgoing e-mail, as services build it; `send` queues it with the change."""

    to: str
    subject: str
    body: str
    # Extra headers (`List-Unsubscribe`, ...): names and values the forum wrote, never a
    # member's text (a newline in one would be refused by `email.message` anyway).
    headers: dict[str, str] = field(default_factory=dict)


KIND = "mail"
TIMEOUT_SECONDS = 20  # per SMTP operation; well inside the first retry's minute


# Links in mail carry tokens (password resets, address confirmations): a log that
# showed them would let whoever reads it take over accounts.
LINK = re.compile(r"https?://\S+")
HIDDEN_LINK = "[link hidden: set FORUM_MAIL_LOG_LINKS=1 to show links in the log]"


def recipient_digest(app: Flask, address: str) -> str:
    """The recipient as the log shows it: a keyed hash, never the address (a plain hash of
    an address is reversed by hashing guesses). The same address gives the same digest,
    so an admin can follow one member's mail (`recipient_digest` computes it)."""
    secret = app.secret_key or b""
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    digest = hmac.new(key, address.strip().lower().encode(), hashlib.sha256).hexdigest()
    return f"recipient-{digest[:16]}"


def _log_links(app: Flask) -> bool:
    value = app.config.get("FORUM_MAIL_LOG_LINKS", False)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return bool(value)


class NotSent(Exception):
    """The mail server would not take the mail safely (no TLS for the password)."""


def send(mail: Mail) -> None:
    """Queue one message in the current transaction; it is delivered after the commit."""
    # A row either way: the answer to "reset my password" takes the same time whether
    # or not the address belongs to someone whose mail goes out over the network.
    payload = asdict(mail)
    if not mail.headers:
        del payload["headers"]
    outbox.enqueue(KIND, payload)


def _smtp_configured(app: Flask) -> bool:
    return bool(app.config.get("FORUM_MAIL_URL"))


@outbox.handler(KIND, deferred=_smtp_configured)
def deliver(app: Flask, payload: dict[str, Any]) -> None:
    """Deliver one queued mail (raises if it could not be handed over; it is retried)."""
    headers = payload.get("headers") or {}
    deliver_now(
        app,
        Mail(
            to=str(payload["to"]),
            subject=str(payload["subject"]),
            body=str(payload["body"]),
            headers={str(name): str(value) for name, value in headers.items()},
        ),
    )


def deliver_now(app: Flask, mail: Mail) -> None:
    """Hand one mail to the log or the mail server now (raises if it could not be handed
    over). For outbox handlers that build their mail at send time (forum.services.
    notification_mail): a retry builds it again, with the permissions of that moment."""
    url = app.config.get("FORUM_MAIL_URL")
    if not url:
        log.info(
            "mail to %s: %s\n%s",
            recipient_digest(app, mail.to),
            mail.subject,
            mail.body if _log_links(app) else LINK.sub(HIDDEN_LINK, mail.body),
        )
        if app.testing:
            # Tests read what was "sent" here. Never in production: the list would grow
            # with every mail and keep reset links in memory.
            app.extensions.setdefault("forum_outbox", []).append(mail)
        return
    # Lines up to RFC 5322's limit, not the folding default of 78: a long header with no
    # space in it (List-Unsubscribe's URL) would otherwise be written as an RFC 2047
    # encoded word, which no mail program reads as a URL.
    message = EmailMessage(policy=email.policy.SMTP.clone(max_line_length=998))
    message["From"] = app.config["FORUM_MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.body)
    _smtp_send(str(url), message, ca_file=app.config.get("FORUM_MAIL_CA_FILE") or None)


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """Verify the mail server's certificate and name against the system's CAs, or
    against FORUM_MAIL_CA_FILE for a private CA: without it, anyone between the forum
    and the server could read the mail password and every reset link."""
    return ssl.create_default_context(cafile=ca_file)


def _smtp_send(url: str, message: EmailMessage, *, ca_file: str | None) -> None:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = parts.port or (465 if parts.scheme == "smtps" else 587)
    context = tls_context(ca_file)
    smtp: smtplib.SMTP
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT_SECONDS, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
    with smtp:
        smtp.ehlo()
        if parts.scheme == "smtp" and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
        elif parts.scheme == "smtp" and parts.username:
            # Never send the mail password in the clear.
            raise NotSent("the mail server offers no STARTTLS; not sending credentials")
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
        smtp.send_message(message)
