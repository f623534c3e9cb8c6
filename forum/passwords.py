"""Refusing passwords that attackers try first."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def _common_passwords() -> frozenset[str]:
    # No fallback to an empty set if the file is missing: a broken install
    # should fail loudly, not quietly accept "password123".
    resource = files("forum") / "data" / "common-passwords.txt"
    lines = resource.read_text(encoding="utf-8").splitlines()
    return frozenset(
        line.strip().lower() for line in lines if line.strip() and not line.startswith("#")
    )


def is_common_password(password: str, *, username: str | None = None) -> bool:
    """True if the password is on the shipped list, one repeated character, or the username."""
    lowered = password.strip().lower()
    if len(set(lowered)) <= 1:
        return True
    if username:
        name = username.strip().lower()
        # "alicealice" is as guessable as "alice".
        if name and not lowered.replace(name, ""):
            return True
    return lowered in _common_passwords()
