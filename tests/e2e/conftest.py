"""A real server and a real browser: the app served on loopback, driven by Chromium."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from forum.extensions import db

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# As in the machine's probe: no background requests to outside hosts, no sandbox as root.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _buffered(app: Flask) -> Any:
    """The app with each answer read whole and its iterator closed before it is sent.

    Werkzeug's development server does not close a response's iterator when the
    browser drops the connection mid-answer (Chromium does that with a 304 for the
    favicon), so the open static file surfaced as a ResourceWarning in whichever test
    ran next. Nothing here streams, so buffering changes no answer.
    """

    def wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        body = app(environ, start_response)
        try:
            return [b"".join(body)]
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()

    return wsgi


class _InFlight:
    """Counts the requests being answered, so the test can wait for the last one."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.count = 0
        self.idle = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.idle:
            self.count += 1
        try:
            return self.app(environ, start_response)
        finally:
            with self.idle:
                self.count -= 1
                self.idle.notify_all()

    def wait(self, timeout: float) -> None:
        """Return once no request is being answered (or after `timeout` seconds)."""
        with self.idle:
            self.idle.wait_for(lambda: self.count == 0, timeout=timeout)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """The app on a free loopback port, in a thread; yields its base URL."""
    # The test's own session must hold no lock while the server writes.
    db.session.remove()
    in_flight = _InFlight(_buffered(app))
    server = make_server("127.0.0.1", 0, in_flight, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
    # Each request has a thread of its own that shutdown() does not wait for. The app is
    # shared with the next test (its database is emptied after this one): a request
    # still running then could write into the next test's rows.
    in_flight.wait(timeout=10)
    server.server_close()


@pytest.fixture
def browser_page(live_server: str) -> Iterator[Any]:
    """A Chromium page with a phone-sized viewport, or a skip saying what is missing."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not shutil.which(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package 'chromium'; .ci/run installs it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server)
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()
