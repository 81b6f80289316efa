"""Who may import whom, checked two ways.

Statically, for every rule: each module of a package is parsed and every import in it is followed within the
repository: top-level ones, those inside functions (lazy imports), those under ``TYPE_CHECKING`` and
``importlib.import_module("…")`` with a literal name, plus the package ``__init__`` modules an import runs. A
rule fails with one chain per offending import, from a module of the package to the forbidden module, each hop
with the line that makes it::

    core.manager → sim.server (core/manager.py:25)

At run time, importing every core module must not load textual (a third-party package may pull it in too).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".git", ".venv", "venv", "__pycache__", "node_modules"}


@dataclass(frozen=True)
class Edge:
    target: str
    path: Path
    line: int

    def where(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


# --------------------------------------------------------------------------------------------- the module graph


@cache
def repo_modules() -> dict[str, Path]:
    """Every importable module of the repository (dotted name → file), packages under their own name."""
    modules: dict[str, Path] = {}
    for path in sorted(ROOT.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if any(part in SKIP_DIRS or part.startswith(".") for part in parts):
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and all(part.isidentifier() for part in parts):
            modules[".".join(parts)] = path
    return modules


def package_modules(package: str) -> list[str]:
    return sorted(name for name in repo_modules() if name == package or name.startswith(package + "."))


def _is_package(name: str) -> bool:
    return repo_modules()[name].name == "__init__.py"


def _with_parents(name: str) -> Iterator[str]:
    """``a.b.c`` runs ``a`` and ``a.b`` first: an import of it reaches those too."""
    parts = name.split(".")
    for end in range(1, len(parts) + 1):
        yield ".".join(parts[:end])


def _resolve_from(module: str, node: ast.ImportFrom) -> list[str]:
    if node.level:
        package = module if _is_package(module) else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = ".".join(p for p in (package, node.module) if p)
    else:
        base = node.module or ""
    names = [base]
    for alias in node.names:  # `from core import events` imports the module core.events
        candidate = f"{base}.{alias.name}"
        if candidate in repo_modules():
            names.append(candidate)
    return names


def _dynamic_name(node: ast.Call) -> str | None:
    """``importlib.import_module("x")`` / ``import_module("x")`` / ``__import__("x")`` with a literal name."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    if name in {"import_module", "__import__"} and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str):
        return node.args[0].value
    return None


@cache
def imports_of(module: str) -> tuple[Edge, ...]:
    """Every module ``module``'s code imports, wherever the import statement sits."""
    path = repo_modules()[module]
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    edges: list[Edge] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            targets = _resolve_from(module, node)
        elif isinstance(node, ast.Call) and (dynamic := _dynamic_name(node)):
            targets = [dynamic]
        else:
            continue
        for target in targets:
            edges.extend(Edge(name, path, node.lineno) for name in _with_parents(target) if name and name != module)
    return tuple(edges)


def offending_chains(package: str, forbidden: Callable[[str], bool]) -> list[str]:
    """One line per import of a forbidden module reachable from ``package``: the shortest chain of imports from
    a module of the package to it. Only modules of this repository are followed."""
    sources = package_modules(package)
    assert sources, f"no modules in {package}"
    came_from: dict[str, tuple[str, Edge] | None] = dict.fromkeys(sources)
    queue = deque(sources)
    found: dict[tuple[str, str], str] = {}  # (chain, where) → the forbidden module, the longest name of a line
    while queue:
        module = queue.popleft()
        for edge in imports_of(module):
            if forbidden(edge.target):
                key = (_chain(came_from, module), edge.where())
                if len(edge.target) > len(found.get(key, "")):  # `import sim.server` names sim.server, not sim
                    found[key] = edge.target
            elif edge.target in repo_modules() and edge.target not in came_from:
                came_from[edge.target] = (module, edge)
                queue.append(edge.target)
    return sorted(f"{chain} → {target} ({where})" for (chain, where), target in found.items())


def _chain(came_from: dict[str, tuple[str, Edge] | None], module: str) -> str:
    hops = [module]
    while (step := came_from[hops[-1]]) is not None:
        hops.append(step[0])
    return " → ".join(reversed(hops))


def within(*packages: str) -> Callable[[str], bool]:
    return lambda name: any(name == p or name.startswith(p + ".") for p in packages)


# --------------------------------------------------------------------------------------------- the rules


def _goofish_forbidden(name: str) -> bool:
    """Nothing of core outside core.goofish (the ``core`` package itself runs first, whoever imports core.*),
    and nothing of storage."""
    return (within("core")(name) and name != "core" and not within("core.goofish")(name)) or within("storage")(name)


RULES = {
    "core imports neither tui, sim, demo nor textual": ("core", within("tui", "sim", "demo", "textual")),
    "core.goofish imports nothing else of core and no storage": ("core.goofish", _goofish_forbidden),
    "storage imports nothing of core": ("storage", within("core")),
    "sim imports nothing of core": ("sim", within("core")),
}


@pytest.mark.parametrize("rule", list(RULES))
def test_import_rule(rule: str) -> None:
    package, forbidden = RULES[rule]
    chains = offending_chains(package, forbidden)
    assert not chains, f"{rule}, but:\n  " + "\n  ".join(chains)


def test_the_walk_sees_lazy_and_type_only_imports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The checker itself: a violation two hops outside the package, behind an import inside a function and a
    type-only one, is reported with its whole chain."""
    for package in ("pkg", "other", "bad"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "pkg" / "a.py").write_text("def later():\n    from other import c\n")
    (tmp_path / "other" / "c.py").write_text("from . import d\n")
    (tmp_path / "other" / "d.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    import bad.thing\n")
    monkeypatch.setitem(globals(), "ROOT", tmp_path)
    repo_modules.cache_clear()
    imports_of.cache_clear()
    try:
        chains = offending_chains("pkg", within("bad"))
    finally:
        repo_modules.cache_clear()
        imports_of.cache_clear()
    assert chains == ["pkg.a → other.c → other.d → bad.thing (other/d.py:4)"]


def test_core_never_imports_textual_at_run_time() -> None:
    modules = [name for name in package_modules("core") if not name.rpartition(".")[2].startswith("_")]
    code = "import sys\n" + "".join(f"import {name}\n" for name in modules) + (
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(len(sys.modules)); assert not bad, bad\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "core.service" in modules and "core.goofish.decode" in modules
