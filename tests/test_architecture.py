"""Structural rules that keep the policy module the only gate."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent / "forum"

# A read of boards, topics or posts that does not start from a policy scope.
UNSCOPED = re.compile(r"select\((Topic|Post|Board)\s*[,)]|\.query\b")


def test_blueprints_services_and_moderation_never_query_content_outside_policy():
    paths = [ROOT / "activity.py"]
    for folder in ("blueprints", "services", "moderation"):
        paths += (ROOT / folder).rglob("*.py")
    offenders = []
    for path in paths:
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if UNSCOPED.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_policy_never_reads_request_state():
    tree = ast.parse((ROOT / "policy.py").read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not {m for m in imported if m.split(".")[0] in ("flask", "flask_login")}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & {"current_user", "request", "g", "session"}


def test_models_import_no_policy_services_or_login():
    for path in (ROOT / "models").rglob("*.py"):
        source = path.read_text()
        for forbidden in ("forum.policy", "forum.services", "flask_login"):
            assert forbidden not in source, f"{path.name} imports {forbidden}"


def test_no_utils_or_helpers_modules():
    names = {p.stem for p in ROOT.rglob("*.py")}
    assert not names & {"utils", "helpers"}


def test_views_never_commit_or_roll_back():
    # One write boundary per request (`forum.transaction.writes`): a view that commits
    # or rolls back by hand can split a write in two or send effects for a rolled-back one.
    writes = re.compile(r"\.(commit|rollback)\(")
    offenders = []
    for path in (ROOT / "blueprints").rglob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if writes.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
