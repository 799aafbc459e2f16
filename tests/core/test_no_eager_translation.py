"""No text is translated when a module loads: it would be fixed in the server's language.

``gettext`` (not ``gettext_lazy``) called outside a function runs once, at import, in
English, and every reader then sees English. This walks the product's modules and
fails on such a call.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "senders", "templates_app", "inbox", "waba_portal")
EAGER = {"gettext", "ngettext", "pgettext", "npgettext"}


def _eager_names(tree: ast.Module) -> set[str]:
    """Names bound to an eager gettext by ``from django.utils.translation import ...``."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module == "django.utils.translation":
            names.update(a.asname or a.name for a in node.names if a.name in EAGER)
    return names


def _module_level_calls(tree: ast.Module, names: set[str]) -> list[int]:
    found: list[int] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return  # runs when called, in the reader's language
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names:
            found.append(node.lineno)
        for child in ast.iter_child_nodes(node):
            visit(child)

    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            # Class bodies run at import too, but methods do not.
            for item in node.body:
                visit(item)
        else:
            visit(node)
    return found


def _modules() -> list[Path]:
    return [
        path
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts and "mock_meta" not in path.parts
    ]


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_text_is_translated_at_import(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = _eager_names(tree)
    if not names:
        return
    lines = _module_level_calls(tree, names)
    assert not lines, f"{path.relative_to(ROOT)}: use gettext_lazy at lines {lines}"
