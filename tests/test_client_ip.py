"""X-Forwarded-For is believed only from a configured proxy."""

from __future__ import annotations

import pytest

from forum.blueprints.context import client_ip
from tests.conftest import make_test_app


@pytest.fixture
def proxied_app(tmp_path):
    return make_test_app(
        f"sqlite:///{tmp_path / 'x.db'}",
        tmp_path / "instance",
        FORUM_TRUSTED_PROXIES="10.0.0.2, 10.0.0.3",
    )


def _ip(app, remote: str, forwarded: str | None) -> str | None:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": remote}, headers=headers):
        return client_ip()


def test_forwarded_header_ignored_from_untrusted_peer(proxied_app):
    assert _ip(proxied_app, "198.51.100.7", "203.0.113.1") == "198.51.100.7"


def test_forwarded_header_believed_from_trusted_proxy(proxied_app):
    assert _ip(proxied_app, "10.0.0.2", "203.0.113.1") == "203.0.113.1"


def test_spoofed_leftmost_entry_is_not_believed(proxied_app):
    # The client wrote "1.2.3.4" itself; our proxy appended the real address.
    assert _ip(proxied_app, "10.0.0.2", "1.2.3.4, 203.0.113.1") == "203.0.113.1"


def test_chain_of_trusted_proxies_is_walked(proxied_app):
    assert _ip(proxied_app, "10.0.0.2", "203.0.113.1, 10.0.0.3") == "203.0.113.1"


def test_garbage_forwarded_value_falls_back_to_peer(proxied_app):
    assert _ip(proxied_app, "10.0.0.2", "not-an-ip") == "10.0.0.2"
