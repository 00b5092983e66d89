"""No binary floating point near money: scan the model, translation and router sources (AST) for `float(...)`
calls, `: float` / `-> float` annotations and float literals where a price or quantity is meant."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("fixgw/model", "fixgw/fix", "fixgw/router")
MONEY_NAME = re.compile(r"price|px|qty|quantity|amount|notional|tick|lot|size|commission|fee|rate|cum|leaves|avg|"
                        r"limit|cash|value", re.IGNORECASE)


def _names(node: ast.AST) -> list[str]:
    """Identifiers an expression mentions (names, attributes, string subscripts)."""
    found: list[str] = []
    for child in ast.walk(node):
        if isinstance(child, ast.Name):
            found.append(child.id)
        elif isinstance(child, ast.Attribute):
            found.append(child.attr)
        elif isinstance(child, ast.Constant) and isinstance(child.value, str):
            found.append(child.value)
    return found


def _is_float_annotation(annotation: ast.expr | None) -> bool:
    return annotation is not None and any(
        (isinstance(node, ast.Name) and node.id == "float")
        or (isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"\bfloat\b", node.value))
        for node in ast.walk(annotation))


def float_violations(source: str, filename: str = "<source>") -> list[str]:
    """Every float call, float annotation and float literal in a money context, as "file:line: what"."""
    tree = ast.parse(source, filename)
    parents: dict[ast.AST, ast.AST] = {}
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            parents[child] = node
    found: list[str] = []

    def report(node: ast.AST, what: str) -> None:
        found.append(f"{filename}:{getattr(node, 'lineno', '?')}: {what}")

    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
            report(node, "float(...) call")
        elif isinstance(node, ast.AnnAssign) and _is_float_annotation(node.annotation):
            report(node, ": float annotation")
        elif isinstance(node, ast.arg) and _is_float_annotation(node.annotation):
            report(node, f"parameter {node.arg}: float")
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _is_float_annotation(node.returns):
            report(node, f"{node.name}() -> float")
        elif isinstance(node, ast.Constant) and type(node.value) is float:
            context = _money_context(node, parents)
            if context:
                report(node, f"float literal {node.value!r} next to {context!r}")
    return found


def _money_context(literal: ast.Constant, parents: dict[ast.AST, ast.AST]) -> str | None:
    """The money-like name a float literal is assigned to, compared with, passed as or computed with."""
    node: ast.AST = literal
    while node in parents:
        parent = parents[node]
        if isinstance(parent, ast.keyword) and parent.arg:
            names = [parent.arg]
        elif isinstance(parent, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            names = [name for target in targets for name in _names(target)]
        elif isinstance(parent, (ast.Compare, ast.BinOp, ast.Dict, ast.Call, ast.Return)):
            names = _names(parent)
        elif isinstance(parent, ast.arguments):
            names = [arg.arg for arg in parent.args + parent.kwonlyargs]
        else:
            names = []
        for name in names:
            if MONEY_NAME.search(name):
                return name
        if isinstance(parent, (ast.stmt, ast.arguments)):
            return None
        node = parent
    return None


def _sources() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (ROOT / package).rglob("*.py"))


def test_model_translation_and_router_hold_no_floats() -> None:
    sources = _sources()
    assert any("fixgw/model" in str(path) for path in sources) and any("fixgw/fix" in str(path) for path in sources)
    violations = [violation for path in sources
                  for violation in float_violations(path.read_text(encoding="utf-8"), str(path.relative_to(ROOT)))]
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("snippet", [
    "price = float(text)",
    "def last_px(self) -> float: ...",
    "def fill(qty: float) -> None: ...",
    "class Order:\n    order_qty: float\n",
    "tick_size: 'float | None' = None",
    "if order.price > 100.5: pass",
    "send(order_qty=0.5)",
    "notional = qty * 1.5",
    "TICKS = {'price': 0.01}",
    "def round_px(value, tick=0.01): ...",
])
def test_scanner_catches_floats(snippet: str) -> None:
    assert float_violations(snippet)


@pytest.mark.parametrize("snippet", [
    "price = Decimal('100.5')",
    "if isinstance(value, (bool, float)): raise TypeError",
    "deadline = time.monotonic() + 2.5",
    "backoff = 0.25",
])
def test_scanner_leaves_non_money_alone(snippet: str) -> None:
    assert not float_violations(snippet)
