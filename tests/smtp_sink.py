"""A small SMTP server on loopback for the mail tests: plain, STARTTLS or implicit TLS,
with a self-signed certificate made by the `openssl` command (no internet needed)."""

from __future__ import annotations

import socket
import socketserver
import ssl
import subprocess
import threading
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path


@dataclass
class Certificate:
    """A self-signed certificate and its key (PEM files)."""

    cert: Path
    key: Path


def make_certificate(folder: Path, names: str = "DNS:localhost,IP:127.0.0.1") -> Certificate:
    """A throwaway self-signed certificate for `names` (an EC key: made in milliseconds)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            f"subjectAltName={names}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(cert=cert, key=key)


@dataclass
class Sink:
    """What the server saw: whole messages (bytes), and the commands, in order."""

    messages: list[bytes] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    connections: int = 0
    received: threading.Event = field(default_factory=threading.Event)
    connected: threading.Event = field(default_factory=threading.Event)


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def handle(self) -> None:
        sink = self.server.sink
        sink.connections += 1
        sink.connected.set()
        if self.server.stall:
            # A server that takes the connection and never answers: the client waits.
            self.server.release.wait(30)
            return
        try:
            if self.server.tls == "implicit":
                self._wrap()
            self._reply("220 sink ESMTP")
            self._converse(sink)
        except (OSError, ssl.SSLError):
            return  # the client gave up (refused our certificate, say)

    def finish(self) -> None:
        try:
            super().finish()
        except OSError:
            pass
        if isinstance(self.connection, ssl.SSLSocket):
            # The TLS socket took over the descriptor; socketserver closes only the
            # plain socket it handed us.
            self.connection.close()

    def _wrap(self) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        assert self.server.certificate is not None
        context.load_cert_chain(self.server.certificate.cert, self.server.certificate.key)
        self.connection = context.wrap_socket(self.connection, server_side=True)
        self.rfile = self.connection.makefile("rb")
        self.wfile = self.connection.makefile("wb", buffering=0)

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")

    def _converse(self, sink: Sink) -> None:
        data: list[bytes] | None = None
        while raw := self.rfile.readline():  # read anew: STARTTLS replaces rfile
            if data is not None:
                if raw == b".\r\n":
                    sink.messages.append(b"".join(data))
                    data = None
                    self._reply("250 queued")
                    sink.received.set()
                else:
                    data.append(raw)
                continue
            command = raw.decode("ascii", "replace").strip()
            verb = command[:8].upper().split(" ")[0]
            sink.commands.append(verb)
            if verb in ("EHLO", "HELO"):
                lines = ["250-sink", "250-AUTH PLAIN"] if self.server.tls != "none" else []
                if self.server.tls == "starttls":
                    lines.append("250-STARTTLS")
                self.wfile.write("".join(f"{x}\r\n" for x in lines).encode())
                self._reply("250 HELP")
            elif verb == "STARTTLS" and self.server.tls == "starttls":
                self._reply("220 go ahead")
                self._wrap()
            elif verb == "AUTH":
                self._reply("235 ok")
            elif verb == "DATA":
                data = []
                self._reply("354 go on")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("250 ok")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        port: int,
        *,
        tls: str,
        certificate: Certificate | None,
        stall: bool,
    ) -> None:
        self.sink = Sink()
        self.tls = tls
        self.certificate = certificate
        self.stall = stall
        self.release = threading.Event()
        super().__init__(("127.0.0.1", port), _Handler)


class SmtpServer:
    """`with SmtpServer(tls="starttls", certificate=c) as server:` serves on
    `server.port` until the block ends; `server.sink` holds what arrived.

    tls: "none" (a local relay; offers no AUTH), "starttls" or "implicit" (SMTPS).
    stall: accept connections and never answer (a hung server)."""

    def __init__(
        self,
        *,
        port: int = 0,
        tls: str = "none",
        certificate: Certificate | None = None,
        stall: bool = False,
    ) -> None:
        self._server = _Server(port, tls=tls, certificate=certificate, stall=stall)
        self.port: int = self._server.server_address[1]
        self.sink = self._server.sink
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> SmtpServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._server.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def free_port() -> int:
    """A loopback port nobody listens on (for "the mail server is down")."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
