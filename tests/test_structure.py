"""The package's shape: modules import one another in one direction at run
time, reach no other module's underscored names, and use no private Flask
context names.

Imports under ``if t.TYPE_CHECKING:`` are left out: they exist only for
annotations and never run.
"""

from __future__ import annotations

import ast
import typing as t
from pathlib import Path

import flask_sessionauth

PACKAGE = Path(flask_sessionauth.__file__).parent
#: Flask's private context names, gone or deprecated in Flask 3.2.
FLASK_PRIVATE = {"_cv_app", "_cv_request", "request_ctx", "_request_ctx_stack"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)

    if parts[-1] == "__init__":
        parts.pop()

    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING") or (
        isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.Module) -> t.Iterator[ast.ImportFrom | ast.Import]:
    """Every import statement that runs, at any depth, skipping the bodies of
    ``if TYPE_CHECKING:`` blocks.
    """
    stack: list[ast.AST] = [tree]

    while stack:
        node = stack.pop()

        if isinstance(node, ast.If) and _is_type_checking(node):
            stack.extend(node.orelse)
            continue

        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node

        stack.extend(ast.iter_child_nodes(node))


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""

    base = module.split(".")

    if not is_package:
        base.pop()

    for _ in range(node.level - 1):
        base.pop()

    return ".".join([*base, node.module] if node.module else base)


#: The copy of flask-login's module tree, whose modules hand one another
#: flask-login's own private names, as flask-login's modules do.
MIRROR = "flask_sessionauth.compat.flask_login"


def _both_mirror_flask_login(importer: str, target: str) -> bool:
    return all(m == MIRROR or m.startswith(f"{MIRROR}.") for m in (importer, target))


def _package_graph() -> tuple[dict[str, set[str]], list[str]]:
    """The run-time import graph between the package's modules, and every
    place where one module imports another's underscored name.
    """
    paths = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    graph: dict[str, set[str]] = {name: set() for name in paths}
    private: list[str] = []

    for name, path in paths.items():
        tree = ast.parse(path.read_text("utf-8"))
        is_package = path.name == "__init__.py"

        for node in _runtime_imports(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                source = _resolve(name, is_package, node)
                targets = []

                for alias in node.names:
                    submodule = f"{source}.{alias.name}"
                    target = submodule if submodule in paths else source
                    targets.append(target)

                    if (
                        target in paths
                        and target != name
                        and alias.name.startswith("_")
                        and not alias.name.startswith("__")
                        and not _both_mirror_flask_login(name, target)
                    ):
                        private.append(f"{name} imports {target}.{alias.name}")

            for target in targets:
                # A package's submodules importing the package itself (for
                # its public names) is the package's own business.
                if target in paths and target != name:
                    graph[name].add(target)

    return graph, private


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found: list[list[str]] = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        trail.append(node)

        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append([*trail[trail.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, trail)

        trail.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])

    return found


def test_runtime_imports_form_no_cycle() -> None:
    graph, _ = _package_graph()
    # The package __init__ re-exports everything; edges into it from its own
    # modules would be cycles, and there must be none.
    assert _cycles(graph) == []


def test_cycle_finder_finds_a_cycle() -> None:
    # The check above can fail: a cycle planted in a graph is reported.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _cycles(graph) == [["a", "b", "c", "a"]]


def test_no_module_imports_another_modules_private_names() -> None:
    _, private = _package_graph()
    assert private == []


def test_package_uses_no_private_flask_context_names() -> None:
    # Flask 3.2 removes _cv_request and deprecates request_ctx; the package
    # reaches requests, sessions and g only through Flask's public names.
    found = []

    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            name = None

            if isinstance(node, ast.Name):
                name = node.id
            elif isinstance(node, ast.Attribute):
                name = node.attr
            elif isinstance(node, ast.alias):
                name = node.name.rpartition(".")[2]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                name = node.value

            if name in FLASK_PRIVATE:
                found.append(f"{path.name}:{getattr(node, 'lineno', '?')}: {name}")

    assert found == []


COMPAT = "flask_sessionauth.compat"


def test_core_never_imports_the_compatibility_layer() -> None:
    """compat/ is an outer ring: only the package's __init__ (for
    install_as_flask_login) and compat's own modules import it, at run time
    or for types.
    """
    paths = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}
    offenders = []

    for name, path in paths.items():
        if (
            name == "flask_sessionauth"
            or name == COMPAT
            or name.startswith(f"{COMPAT}.")
        ):
            continue

        tree = ast.parse(path.read_text("utf-8"))
        is_package = path.name == "__init__.py"

        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                source = _resolve(name, is_package, node)
                sources = [source, *(f"{source}.{alias.name}" for alias in node.names)]
            elif isinstance(node, ast.Import):
                sources = [alias.name for alias in node.names]
            else:
                continue

            if any(s == COMPAT or s.startswith(f"{COMPAT}.") for s in sources):
                offenders.append(f"{name} imports {COMPAT}")

    assert offenders == []


def test_compat_import_finder_sees_an_import() -> None:
    tree = ast.parse("from .compat import install_as_flask_login\n")
    node = tree.body[0]
    assert isinstance(node, ast.ImportFrom)
    assert _resolve("flask_sessionauth.manager", False, node) == COMPAT


#: The session keys of a login, spelled once in session_login.py.
LOGIN_KEY_LITERALS = {
    "_user_id",
    "_fresh",
    "_id",
    "_remember_seconds",
    "_fresh_at",
    "_token_sig",
    "_lifetime",
}


def test_login_session_keys_are_spelled_in_one_module() -> None:
    spelled: list[str] = []

    for path in sorted(PACKAGE.rglob("*.py")):
        name = _module_name(path)

        if name == "flask_sessionauth.session_login":
            continue

        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Constant) and node.value in LOGIN_KEY_LITERALS:
                spelled.append(f"{name}: {node.value!r}")

    assert spelled == []
