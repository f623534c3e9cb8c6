"""Structural rules that keep the policy package the only gate."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

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


POLICY_MODULES = sorted((ROOT / "policy").rglob("*.py"))


def test_policy_is_a_package_of_modules():
    # Guards the scan below: a policy.py beside the package, or an empty package, would
    # make it pass without looking at the rules.
    assert not (ROOT / "policy.py").exists()
    assert {p.stem for p in POLICY_MODULES} >= {"__init__", "actors", "content", "moderation"}


@pytest.mark.parametrize("path", POLICY_MODULES, ids=lambda p: p.name)
def test_policy_never_reads_request_state(path: Path):
    tree = ast.parse(path.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert not {m for m in imported if m.split(".")[0] in ("flask", "flask_login")}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    assert not names & {"current_user", "request", "g", "session"}


def test_policy_package_exports_its_whole_public_api():
    # `from forum import policy; policy.x` is the one way in: every public function of an
    # area module is re-exported, so callers never need to know which module holds a rule.
    from forum import policy

    exported = set(policy.__all__)
    for path in POLICY_MODULES:
        if path.stem == "__init__":
            continue
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef) and not node.name.startswith("_"):
                assert node.name in exported, f"{path.stem}.{node.name}"
    assert all(hasattr(policy, name) for name in exported)


def test_models_import_no_policy_services_or_login():
    for path in (ROOT / "models").rglob("*.py"):
        source = path.read_text()
        for forbidden in ("forum.policy", "forum.services", "flask_login"):
            assert forbidden not in source, f"{path.name} imports {forbidden}"


def test_no_utils_or_helpers_modules():
    names = {p.stem for p in ROOT.rglob("*.py")}
    assert not names & {"utils", "helpers"}
