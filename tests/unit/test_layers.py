"""The layers hold (ARCHITECTURE.md): the sans-I/O core loads no I/O library and no upper layer, and no two
fixgw modules import each other in a circle."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import fixgw

PACKAGE = Path(fixgw.__file__).resolve().parent
CORE = ("fixgw.model", "fixgw.fix", "fixgw.router")
FORBIDDEN_IN_CORE = ("quickfix", "sqlalchemy", "httpx", "fixgw.config", "fixgw.venues", "fixgw.recon", "fixgw.ops",
                     "fixgw.engine", "fixgw.store", "fixgw.risk")

# Every module of the core packages, imported in a fresh interpreter; it prints what got loaded.
_LOAD_CORE = """
import importlib, json, pkgutil, sys
for name in sys.argv[1:]:
    package = importlib.import_module(name)
    for module in pkgutil.walk_packages(getattr(package, "__path__", []), name + "."):
        importlib.import_module(module.name)
print(json.dumps(sorted(sys.modules)))
"""


def loaded_by(*packages: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _LOAD_CORE, *packages], capture_output=True, text=True,
                          timeout=60, check=True)
    modules: list[str] = json.loads(done.stdout)
    return modules


def forbidden(modules: list[str]) -> list[str]:
    return [name for name in modules if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_IN_CORE)]


@pytest.mark.parametrize("package", CORE)
def test_the_core_loads_no_io_library_and_no_upper_layer(package: str) -> None:
    modules = loaded_by(package)
    assert package in modules  # the walk ran
    assert forbidden(modules) == []


def test_the_config_loads_no_io_library_nor_venue_client() -> None:
    """Config validation (check-config, every CLI command) needs the venues' section models, not their clients."""
    modules = loaded_by("fixgw.config")
    io = ("quickfix", "sqlalchemy", "httpx", "websockets", "apscheduler", "fixgw.engine", "fixgw.store", "fixgw.ops")
    assert [name for name in modules if any(name == bad or name.startswith(bad + ".") for bad in io)] == []


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, known: set[str], *, deferred: bool) -> set[str]:
    """fixgw modules `path` imports: at load time (top-level statements), and with `deferred` also in function
    bodies. Never `if TYPE_CHECKING:` blocks (they never run)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    def visit(statements: list[ast.stmt]) -> None:
        for node in statements:
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                for alias in node.names:  # `from package import module` imports the module, not the package
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
            elif isinstance(node, ast.If):
                if "TYPE_CHECKING" not in ast.unparse(node.test):
                    visit(node.body + node.orelse)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                if deferred or isinstance(node, ast.ClassDef):
                    visit(node.body)
            else:
                for field in ("body", "orelse", "finalbody", "handlers"):
                    visit([child for child in getattr(node, field, []) if isinstance(child, ast.stmt)])
                for handler in getattr(node, "handlers", []):
                    visit(handler.body)

    visit(tree.body)
    return {target for target in found if target in known and target != name}


def import_graph(*, deferred: bool) -> dict[str, set[str]]:
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    return {name: imports_of(path, set(paths), deferred=deferred) for name, path in paths.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                connect(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_the_cycle_finder_finds_a_circle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_fixgw_modules_import_each_other_in_a_circle_when_loaded() -> None:
    assert cycles(import_graph(deferred=False)) == []


def test_no_circle_through_imports_inside_functions_either() -> None:
    assert cycles(import_graph(deferred=True)) == []
