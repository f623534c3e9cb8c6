"""Refusing passwords that attackers try first."""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def _common() -> frozenset[str]:
    resource = files("forum") / "data" / "common-passwords.txt"
    if not resource.is_file():
        return frozenset()
    lines = resource.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip().lower() for line in lines if line and not line.startswith("#"))


def is_common_password(password: str, *, username: str | None = None) -> bool:
    """True if the password is on the shipped list, one repeated character, or the username."""
    lowered = password.lower()
    if len(set(lowered)) <= 1:
        return True
    if username and lowered == username.lower():
        return True
    return lowered in _common()
