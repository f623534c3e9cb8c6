"""Structural rules that keep the policy package the only gate."""

from __future__ import annotations

import ast
import re
import tomllib
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


# --- imports: no circles, and every import runs down the layers ---------------------
#
# The graph has one node per module of forum/ and one edge per import of another: every
# `import` and `from ... import` in the file, at module level or inside a function (a
# lazy import hides a circle from the interpreter, not from the design, so it counts).
# `from forum.x import y` points at the module forum.x.y if there is one, else at
# forum.x; a package is a module (its __init__), and importing forum.a.b is no import of
# forum.a (Python runs the package first, but that is how packages load, not a use).

# Lowest first. A module belongs to the layer of the longest name that prefixes it; it
# may import its own layer (sideways) and those below, never one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "foundation",
        (
            "forum.config",
            "forum.database",
            "forum.errors",
            "forum.extensions",
            "forum.fragments",
            "forum.instance",
            "forum.passwords",
            "forum.rendering",
            "forum.transaction",
            "forum.validation",
        ),
    ),
    ("models", ("forum.models",)),
    ("audit and outbox", ("forum.audit", "forum.outbox")),
    ("policy", ("forum.policy", "forum.listings", "forum.unread")),
    ("mail and search", ("forum.mail", "forum.search", "forum.senders", "forum.throttle")),
    ("services and moderation", ("forum.services", "forum.moderation")),
    (
        "chores",
        (
            "forum.activity",
            "forum.backup",
            "forum.demo",
            "forum.health",
            "forum.jobs",
            "forum.maintenance",
            "forum.transfer",
        ),
    ),
    ("web", ("forum.blueprints",)),
    ("application", ("forum", "forum.cli")),
]

# The rules by name (the layers imply them; these say which one broke).
FORBIDDEN = [
    ("forum.services", "forum.blueprints"),
    ("forum.mail", "forum.services"),
    ("forum.senders", "forum.services"),
    ("forum.search", "forum.services"),
    ("forum.policy", "forum.services"),
    ("forum.policy", "forum.blueprints"),
    ("forum.policy", "forum.moderation"),
]


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: line of the first such import}."""
    modules = _modules()

    def known(name: str) -> str:
        while name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, dict[str, int]] = {}
    for name, path in modules.items():
        edges: dict[str, int] = {}
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up level - 1
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{alias.name}" for alias in node.names]
            for target in targets:
                if target == "forum" or target.startswith("forum."):
                    found = known(target)
                    if found != name:
                        edges.setdefault(found, node.lineno)
        graph[name] = edges
    return graph


def _layer(module: str) -> int:
    best = max(
        ((len(p), index) for index, (_, ps) in enumerate(LAYERS) for p in ps if _under(module, p)),
        default=None,
    )
    assert best is not None, f"{module} is in no layer: place it in LAYERS"
    return best[1]


def _under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _cycle(graph: dict[str, dict[str, int]]) -> list[str] | None:
    """One import circle, as the modules along it (the first repeated at the end)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)) is not None:
                return found
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)) is not None:
            return found
    return None


def test_no_import_circles_in_forum():
    graph = _import_graph()
    circle = _cycle(graph)
    where = " -> ".join(
        f"{a} (line {graph[a][b]})" for a, b in zip(circle or [], (circle or [])[1:], strict=False)
    )
    assert circle is None, f"import circle: {where} -> {circle[0] if circle else ''}"


def test_the_cycle_check_finds_a_circle_and_names_it():
    graph = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert _cycle(graph) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b": 1}, "b": {}}) is None


def test_every_import_runs_down_the_layers_or_sideways():
    upward = []
    for module, edges in sorted(_import_graph().items()):
        for target, line in sorted(edges.items()):
            if _layer(target) > _layer(module):
                names = (LAYERS[_layer(module)][0], LAYERS[_layer(target)][0])
                upward.append(f"{module}:{line} imports {target} ({names[0]} -> {names[1]})")
    assert upward == []


def test_named_layer_rules():
    broken = [
        f"{module}:{line} imports {target}"
        for module, edges in _import_graph().items()
        for target, line in edges.items()
        for low, high in FORBIDDEN
        if _under(module, low) and _under(target, high)
    ]
    assert broken == []


def test_models_and_audit_import_nothing_above_models():
    for module, edges in _import_graph().items():
        if _under(module, "forum.models") or _under(module, "forum.audit"):
            above = [t for t in edges if _layer(t) > _layer("forum.models")]
            assert above == [], f"{module} imports {above}"


def test_every_cli_command_is_a_flask_command_too():
    """The `flask` command finds the forum's commands through an entry point (the app
    factory does not import the CLI): each command of `forum` must be listed."""
    from forum.cli import main

    with (ROOT.parent / "pyproject.toml").open("rb") as file:
        listed = tomllib.load(file)["project"]["entry-points"]["flask.commands"]
    assert listed == {
        name: f"forum.cli:{command.callback.__name__}" for name, command in main.commands.items()
    }


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
