"""Reading responses for leaks: scans for planted secrets, and answers made comparable.

Two questions are asked of every response an outsider gets:

* `findings`: does anything planted in the secret group show, in the body, a header or
  the (signed, not encrypted) session cookie? Canaries, and links or JSON references to
  the secret board, topics and posts. What the request itself said (its path, the name
  it asked for) is removed first: echoing the question reveals nothing.
* `answer`: the response reduced to what must be identical between "secret thing" and
  "no such thing": status, body, headers and session, with the per-request noise (CSRF
  tokens, dates, cookies' signatures) and the asked-for values replaced by placeholders.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote
from urllib.parse import quote_plus

from flask import Flask
from werkzeug.test import TestResponse

from tests.leaks.conftest import CANARY_RE
from tests.leaks.conftest import Planted

# Headers that differ between any two requests, whatever was asked.
VOLATILE_HEADERS = frozenset({"set-cookie", "date", "content-length"})
CSRF_PATTERNS = (
    re.compile(r'(name="csrf_token"\s+value=")[^"]*(")'),
    re.compile(r'(name="csrf-token"\s+content=")[^"]*(")'),
)
# Links to boards, topics and posts as pages and API objects carry them (`url`).
REF_RE = re.compile(r"/(b|t|p)/([0-9]+)(?![0-9])")
# JSON keys that point at a board, topic or post by id.
JSON_REF_KEYS = {
    "board_id": "b",
    "parent_id": "b",
    "topic_id": "t",
    "last_topic_id": "t",
    "post_id": "p",
    "reply_to": "p",
}
SESSION_NOISE = frozenset({"csrf_token", "_id", "_fresh"})


@dataclass(frozen=True)
class Answer:
    """What must be identical for a secret thing and a thing that does not exist."""

    status: int
    body: str
    headers: tuple[tuple[str, str], ...]
    session: str

    def differences(self, other: Answer) -> str:
        """A readable account of how two answers differ (empty if they do not)."""
        lines = []
        if self.status != other.status:
            lines.append(f"status {self.status} != {other.status}")
        if self.headers != other.headers:
            lines.append(f"headers {dict(self.headers)} != {dict(other.headers)}")
        if self.session != other.session:
            lines.append(f"session {self.session} != {other.session}")
        if self.body != other.body:
            lines.append(
                f"body differs:\n--- secret\n{self.body[:1500]}\n--- missing\n{other.body[:1500]}"
            )
        return "\n".join(lines)


def text_of(response: TestResponse) -> str:
    """The body as text (bytes that are not UTF-8 shown as replacement characters).

    A zip (a member's data export) is scanned by what it holds: each file's name and
    text, since compressed bytes would hide any canary from the scan.
    """
    data = response.get_data()
    if response.mimetype != "application/zip":
        return data.decode("utf-8", "replace")
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "\n".join(
            f"{name}\n{archive.read(name).decode('utf-8', 'replace')}"
            for name in archive.namelist()
        )


def session_of(app: Flask, response: TestResponse) -> dict[str, Any]:
    """The session the response sets, decoded: it is signed, not encrypted."""
    name = app.config["SESSION_COOKIE_NAME"]
    serializer = app.session_interface.get_signing_serializer(app)  # type: ignore[attr-defined]
    for header in response.headers.getlist("Set-Cookie"):
        cookie, _, rest = header.partition("=")
        if cookie.strip() == name:
            value = rest.split(";", 1)[0].strip().strip('"')
            return dict(serializer.loads(value)) if value else {}
    return {}


def everything(app: Flask, response: TestResponse) -> str:
    """Body, every header and the decoded session, as one text to scan."""
    parts = [text_of(response)]
    parts += [f"{key}: {value}" for key, value in response.headers.items()]
    parts.append(json.dumps(session_of(app, response), default=str, sort_keys=True))
    return "\n".join(parts)


def echo_forms(value: str) -> set[str]:
    """The ways a requested value can come back: as sent, URL-quoted, form-quoted, and as
    a query value built by `url_for` (a guest's "log in and come back to ?next=...")."""
    return {
        value,
        quote(value),
        quote(value, safe=""),
        quote(value, safe="").replace("%20", "+"),
        quote_plus(value, safe="!$'()*,/:;?@"),
    }


def without(text: str, echoes: Iterable[str], placeholder: str = "<ECHO>") -> str:
    """`text` with every form of every echo replaced (longest first, any case)."""
    forms = sorted({f for e in echoes if e for f in echo_forms(e)}, key=len, reverse=True)
    for form in forms:
        text = re.sub(re.escape(form), placeholder, text, flags=re.IGNORECASE)
    return text


def _json_refs(value: Any, planted: Planted, key: str = "") -> list[str]:
    found: list[str] = []
    if isinstance(value, dict):
        for k, v in value.items():
            found += _json_refs(v, planted, k)
    elif isinstance(value, list):
        for v in value:
            found += _json_refs(v, planted, key)
    elif isinstance(value, int) and key in JSON_REF_KEYS:
        if value in planted.secret_refs[JSON_REF_KEYS[key]]:
            found.append(f'JSON "{key}": {value} (a secret object)')
    return found


def findings(
    planted: Planted,
    response: TestResponse,
    *,
    echoes: Iterable[str] = (),
    allowed: Iterable[str] = (),
) -> list[str]:
    """Everything secret the response shows, beyond what the request itself said."""
    scanned = without(everything(planted.app, response), echoes)
    allowed_lower = {a.lower() for a in allowed}
    found = [
        f"canary {m!r}"
        for m in sorted(set(CANARY_RE.findall(scanned)))
        if m.lower() not in allowed_lower
    ]
    refs = planted.secret_refs
    found += [
        f"link /{kind}/{number} (a secret object)"
        for kind, number in sorted(set(REF_RE.findall(scanned)))
        if int(number) in refs[kind]
    ]
    if response.is_json:
        found += _json_refs(response.get_json(silent=True), planted)
    return found


def answer(
    planted: Planted, response: TestResponse, substitutions: Iterable[tuple[str, str]]
) -> Answer:
    """The response made comparable: each (text, placeholder) replaced, noise removed.

    `text` values are literal strings (paths, names) replaced in any case and any quoted
    form, or, when they start with `re:`, regular expressions.
    """

    def clean(text: str) -> str:
        for pattern in CSRF_PATTERNS:
            text = pattern.sub(r"\1<CSRF>\2", text)
        for needle, placeholder in sorted(substitutions, key=lambda s: -len(s[0])):
            if needle.startswith("re:"):
                text = re.sub(needle[3:], placeholder, text)
            else:
                text = without(text, [needle], placeholder)
        return text

    headers = tuple(
        sorted(
            (key.lower(), clean(value))
            for key, value in response.headers.items()
            if key.lower() not in VOLATILE_HEADERS
        )
    )
    session = {k: v for k, v in session_of(planted.app, response).items() if k not in SESSION_NOISE}
    return Answer(
        status=response.status_code,
        body=clean(text_of(response)),
        headers=headers,
        session=clean(json.dumps(session, default=str, sort_keys=True)),
    )


def routed(planted: Planted, method: str, path: str) -> bool:
    """True if some rule of the app answers `method path` (else the surface is not built yet)."""
    adapter = planted.app.url_map.bind("localhost")
    try:
        adapter.match(path.split("?", 1)[0], method=method)
    except Exception:  # noqa: BLE001 - NotFound, MethodNotAllowed, RequestRedirect
        return False
    return True
