"""Undo as a registry: every undoable action has exactly one reverser, registered by the
module that acts, and the log module imports none of them."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from forum.audit import Action
from forum.moderation import sentences
from forum.moderation import undo

FORUM = Path(__file__).resolve().parents[2] / "forum"

# What undo took back before the registry (the log module's old `UNDOABLE`).
UNDOABLE = {
    Action.REPORT_DISMISSED,
    Action.POST_HIDDEN,
    Action.POST_HIDDEN_BY_COMMUNITY,
    Action.POST_UNHIDDEN,
    Action.POST_DELETED,
    Action.POST_RESTORED,
    Action.POST_APPROVED,
    Action.POST_REJECTED,
    Action.MEMBER_SILENCED,
    Action.MEMBER_SUSPENDED,
    Action.MEMBER_AUTO_SILENCED,
    Action.SANCTION_LIFTED,
    Action.TOPIC_LOCKED,
    Action.TOPIC_UNLOCKED,
    Action.TOPIC_PINNED,
    Action.TOPIC_UNPINNED,
    Action.TOPIC_CLOSED,
    Action.TOPIC_OPENED,
    Action.TOPIC_MOVED,
    Action.SLOW_MODE_SET,
}


def test_every_undoable_action_has_a_reverser_and_a_sentence_for_its_undo():
    assert set(undo.UNDOABLE) == UNDOABLE
    assert set(sentences._UNDONE) == UNDOABLE


def test_the_app_registers_every_reverser_at_start_up():
    """In a fresh interpreter, building the app is enough: nothing needs importing the
    modules that act by hand before an undo."""
    script = (
        "from forum import create_app\n"
        "from forum.config import TestConfig\n"
        "create_app(TestConfig)\n"
        "from forum.moderation import undo\n"
        "print(','.join(sorted(undo.UNDOABLE)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    assert set(done.stdout.strip().split(",")) == {a.value for a in UNDOABLE}


def test_an_action_cannot_get_two_reversers():
    with pytest.raises(RuntimeError, match="has a reverser already"):
        undo.reverser(Action.TOPIC_LOCKED)(lambda actor, entry, data, reason: None)
    assert Action.TOPIC_LOCKED in undo.UNDOABLE


def test_the_log_module_imports_neither_actions_nor_sanctions():
    tree = ast.parse((FORUM / "moderation" / "log.py").read_text(encoding="utf-8"))
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported |= {f"{node.module}.{alias.name}" for alias in node.names}
            imported.add(node.module)
    assert not imported & {"forum.moderation.actions", "forum.moderation.sanctions"}
