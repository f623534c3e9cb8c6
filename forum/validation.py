"""Input checks shared by the services: each failure is an `Invalid` naming its field."""

from __future__ import annotations

import re
from typing import Any

from forum.errors import Invalid

# The one definition of each name's shape: the services, the API's path checks and the
# OpenAPI document (through forum.blueprints.api.schemas) all read these.
USERNAME_MIN, USERNAME_MAX = 3, 20
USERNAME_RE = re.compile(rf"^[A-Za-z0-9_-]{{{USERNAME_MIN},{USERNAME_MAX}}}$")
# Group slugs: lower-case letters, digits and inner hyphens, as in a URL.
SLUG_MAX = 40
SLUG_RE = re.compile(rf"^[a-z0-9](?:[a-z0-9-]{{0,{SLUG_MAX - 2}}}[a-z0-9])?$")
# Invitation tokens are URL-safe base64 (`secrets.token_urlsafe`).
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{8,100}$")
# Deliberately simple: one @, something on both sides, a dot in the domain. The real
# check is the confirmation link.
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

TITLE_MIN, TITLE_MAX = 3, 200
BODY_MIN, BODY_MAX = 1, 50_000
PASSWORD_MIN, PASSWORD_MAX = 10, 1000
# Boards' and groups' names and descriptions, and a member's "about you".
NAME_MAX = 80
DESCRIPTION_MAX = 500
BIO_MAX = 500
# A reason written to the moderation log by a service (trust grants, break-glass).
REASON_MAX = 500
# Ids and counts fit a 32-bit signed column everywhere; a larger number cannot name
# anything, and PostgreSQL would reject it with an error rather than "no such row".
INT_MAX = 2**31 - 1
_WHOLE_NUMBER_RE = re.compile(r"-?[0-9]{1,18}")


# The bidirectional embedding, override and isolate controls: an unclosed right-to-left
# override makes a name or title - and the text after it on the page - read backwards,
# which can disguise who wrote something or where a link goes. Right-to-left writing
# never needs them (the letters carry their direction); the plain marks U+200E, U+200F
# and U+061C are allowed. Post bodies keep them in their source and lose them when
# rendered (forum.rendering), because pasted right-to-left text sometimes carries them.
BIDI_CONTROLS_RE = re.compile("[\u202a-\u202e\u2066-\u2069]")


def text(
    value: Any,
    name: str,
    *,
    min_len: int = 0,
    max_len: int,
    label: str | None = None,
    bidi_controls: bool = False,
) -> str:
    """A stripped string of bounded length without NUL bytes, or `Invalid`.

    Bidirectional control characters are refused unless `bidi_controls` (post bodies).
    """
    label = label or name.replace("_", " ").capitalize()
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise Invalid(name, f"{label} must be text.")
    if "\x00" in value:
        raise Invalid(name, f"{label} contains a NUL byte, which is not allowed.")
    if not bidi_controls and (found := BIDI_CONTROLS_RE.search(value)):
        raise Invalid(
            name,
            f"{label} contains an invisible direction control (U+{ord(found.group()):04X}) that "
            "can make text read backwards. Please remove it (retype the text if you pasted it).",
        )
    clean: str = value.strip()
    if len(clean) < min_len:
        if min_len <= 1:
            raise Invalid(name, f"{label} must not be empty.")
        raise Invalid(name, f"{label} must be at least {min_len} characters.")
    if len(clean) > max_len:
        raise Invalid(
            name, f"{label} must be at most {max_len:,} characters; it has {len(clean):,}."
        )
    return clean


def title(value: Any) -> str:
    """A topic title, 3-200 characters."""
    return text(value, "title", min_len=TITLE_MIN, max_len=TITLE_MAX)


def body(value: Any) -> str:
    """A post body (Markdown), 1-50,000 characters; errors speak of "your post", as the
    forms label the field."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid("body", "Your post is empty: write something first.")
    if isinstance(value, str) and len(value.strip()) > BODY_MAX:
        raise Invalid(
            "body",
            f"Your post is {len(value.strip()):,} characters long; a post can have at most "
            f"{BODY_MAX:,}. Shorten it, or split it into two posts.",
        )
    clean = text(
        value, "body", min_len=BODY_MIN, max_len=BODY_MAX, label="Your post", bidi_controls=True
    )
    return clean


TOMBSTONE_PREFIX = "deleted-"


def username(value: Any) -> str:
    """A pseudonym: 3-20 letters, digits, `_` or `-`."""
    name = text(value, "username", min_len=USERNAME_MIN, max_len=USERNAME_MAX)
    if not USERNAME_RE.match(name):
        raise Invalid("username", "Username may use only letters, digits, _ and -.")
    if name.lower().startswith(TOMBSTONE_PREFIX):
        # Kept for deleted accounts' placeholders: nobody may pose as one.
        raise Invalid("username", "That username is not available.")
    return name


def email(value: Any) -> str | None:
    """An optional e-mail address, lower-cased; empty means none."""
    address = text(value, "email", max_len=254, label="E-mail")
    if not address:
        return None
    if not EMAIL_RE.match(address):
        raise Invalid("email", "That does not look like an e-mail address.")
    return address.lower()


def integer(value: Any, name: str, *, minimum: int | None = None, maximum: int = INT_MAX) -> int:
    """An integer (not a bool, not a float) within bounds, or `Invalid`."""
    if isinstance(value, bool) or not isinstance(value, int):
        # ASCII digits only, and not too many: "²".isdigit() is True but int() refuses it,
        # and int() refuses strings of more than 4,300 digits - either was a 500.
        if isinstance(value, str) and _WHOLE_NUMBER_RE.fullmatch(value.strip()):
            value = int(value.strip())
        else:
            raise Invalid(name, f"{name} must be a whole number.")
    if minimum is not None and value < minimum:
        raise Invalid(name, f"{name} must be at least {minimum}.")
    if value > maximum:
        raise Invalid(name, f"{name} must be at most {maximum}.")
    return int(value)


def boolean(value: Any, name: str) -> bool:
    """A JSON boolean, or `Invalid`."""
    if not isinstance(value, bool):
        raise Invalid(name, f"{name} must be true or false.")
    return value


def choice(value: Any, name: str, options: tuple[str, ...]) -> str:
    """One of `options`, or `Invalid` listing them."""
    if value not in options:
        raise Invalid(name, f"{name} must be one of: {', '.join(options)}.")
    return str(value)
