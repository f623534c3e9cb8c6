"""Outgoing mail: written to the log by default, sent by SMTP when FORUM_MAIL_URL is set."""

from __future__ import annotations

import logging
import smtplib
import threading
from email.message import EmailMessage
from urllib.parse import unquote
from urllib.parse import urlsplit

from flask import current_app

from forum.messages import Mail

log = logging.getLogger("forum.mail")


def send(mail: Mail) -> None:
    """Deliver one message; call only after the transaction that made it has committed."""
    url = current_app.config.get("FORUM_MAIL_URL")
    if not url:
        log.info("mail to %s: %s\n%s", mail.to, mail.subject, mail.body)
        current_app.extensions.setdefault("forum_outbox", []).append(mail)
        return
    message = EmailMessage()
    message["From"] = current_app.config["FORUM_MAIL_FROM"]
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    # Sent from a thread: the answer to "reset my password" must take the same time
    # whether or not a mail goes out, or its timing would tell who has an account.
    threading.Thread(target=_deliver, args=(url, message), daemon=True).start()


def _deliver(url: str, message: EmailMessage) -> None:
    parts = urlsplit(url)
    port = parts.port or (465 if parts.scheme == "smtps" else 587)
    smtp_class = smtplib.SMTP_SSL if parts.scheme == "smtps" else smtplib.SMTP
    try:
        with smtp_class(parts.hostname or "localhost", port, timeout=30) as smtp:
            smtp.ehlo()
            if parts.scheme == "smtp" and smtp.has_extn("starttls"):
                smtp.starttls()
                smtp.ehlo()
            elif parts.scheme == "smtp" and parts.username:
                # Never send the mail password in the clear.
                log.error("mail server offers no STARTTLS; not sending credentials")
                return
            if parts.username:
                smtp.login(unquote(parts.username), unquote(parts.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException):
        # The member's action has already been saved; a mail failure must not undo it.
        log.exception("could not send mail to %s", message["To"])
