"""The package surface: every exported name resolves, and core.bargain imports only the standard library."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import core.bargain as bargain

PACKAGE = Path(bargain.__file__).parent


def test_all_names_resolve() -> None:
    for name in bargain.__all__:
        assert getattr(bargain, name) is not None, name


def test_imports_only_the_standard_library_and_itself() -> None:
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                ok = top in sys.stdlib_module_names or top == "__future__" or name.startswith("core.bargain")
                assert ok, f"{path.name} imports {name}"
