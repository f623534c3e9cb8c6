"""The shipped common-password list and the check built on it."""

from __future__ import annotations

from importlib.resources import files

import pytest

from forum.passwords import is_common_password

_LIST = files("forum") / "data" / "common-passwords.txt"


def _entries() -> list[str]:
    lines = _LIST.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if not line.startswith("#")]


def test_list_starts_with_a_source_and_licence_header() -> None:
    lines = _LIST.read_text(encoding="utf-8").splitlines()
    header = "\n".join(line for line in lines if line.startswith("#"))
    assert lines[0].startswith("# ")
    assert "zxcvbn" in header
    assert "MIT" in header


def test_list_entries_are_long_lowercase_sorted_and_unique() -> None:
    entries = _entries()
    assert len(entries) > 1000
    assert all(len(entry) >= 10 for entry in entries)
    assert all(entry == entry.lower() == entry.strip() for entry in entries)
    assert entries == sorted(set(entries))


def test_every_listed_password_is_rejected() -> None:
    assert all(is_common_password(entry) for entry in _entries())


@pytest.mark.parametrize(
    "password", ["1234567890", "qwertyuiop", "password123", "iloveyou12", "onedayatatime"]
)
def test_obvious_passwords_are_rejected(password: str) -> None:
    assert is_common_password(password)


@pytest.mark.parametrize("password", ["PassWord123", "QWERTYUIOP", "  password123  "])
def test_check_ignores_case_and_surrounding_spaces(password: str) -> None:
    assert is_common_password(password)


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "1111111111", "!!!!!!!!!!!!", " " * 12])
def test_single_repeated_character_is_rejected(password: str) -> None:
    assert is_common_password(password)


def test_password_equal_to_username_is_rejected() -> None:
    assert is_common_password("SamWalker1984", username="samwalker1984")


def test_username_repeated_is_rejected() -> None:
    assert is_common_password("samsamsamsam", username="Sam")


def test_password_containing_username_and_more_is_not_rejected_for_that() -> None:
    assert not is_common_password("sam-walks-to-the-lighthouse", username="sam")


@pytest.mark.parametrize(
    "password", ["correct horse battery staple", "tK8#vq2LmZ0p", "lighthouse-kettle-88"]
)
def test_uncommon_passwords_are_accepted(password: str) -> None:
    assert not is_common_password(password)
    assert not is_common_password(password, username="someone")
    assert not is_common_password(password, username="")
