"""Outgoing mail: logged by default, delivered by SMTP in the background when configured."""

from __future__ import annotations

import socket
import threading

from forum import mail
from forum.services.accounts import Mail


def test_mail_goes_to_the_log_without_a_mail_url(app, caplog):
    with caplog.at_level("INFO", logger="forum.mail"):
        mail.send(Mail(to="a@example.org", subject="Hello", body="Body text"))
    assert "a@example.org" in caplog.text and "Body text" in caplog.text


def test_smtp_delivery_speaks_to_the_configured_server(app):
    """A tiny SMTP peer on loopback receives the message; the caller does not wait."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    received: list[bytes] = []

    def smtp_peer() -> None:
        conn, _ = server.accept()
        conn.settimeout(5)
        stream = conn.makefile("rb")
        conn.sendall(b"220 test ESMTP\r\n")
        in_data = False
        for line in stream:
            if in_data:
                if line == b".\r\n":
                    in_data = False
                    conn.sendall(b"250 queued\r\n")
                else:
                    received.append(line)
                continue
            verb = line[:4].upper()
            if verb in (b"EHLO", b"HELO"):
                conn.sendall(b"250 test\r\n")
            elif verb == b"DATA":
                in_data = True
                conn.sendall(b"354 go on\r\n")
            elif verb == b"QUIT":
                conn.sendall(b"221 bye\r\n")
                break
            else:
                conn.sendall(b"250 ok\r\n")
        conn.close()

    peer = threading.Thread(target=smtp_peer, daemon=True)
    peer.start()
    # A local relay without STARTTLS and without credentials, as on many small VPSs.
    app.config["FORUM_MAIL_URL"] = f"smtp://127.0.0.1:{port}"
    try:
        mail.send(Mail(to="b@example.org", subject="Reset", body="The link is here"))
        peer.join(timeout=10)
    finally:
        server.close()
    assert any(b"The link is here" in line for line in received)
