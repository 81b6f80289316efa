"""The core stays importable without the TUI: importing every core module must not load textual."""

import pkgutil
import subprocess
import sys
from pathlib import Path

import core

ROOT = Path(__file__).resolve().parents[1]


def test_core_never_imports_textual():
    modules = sorted(f"core.{m.name}" for m in pkgutil.walk_packages(core.__path__, prefix="")
                     if not m.name.startswith("_"))
    modules += sorted(f"core.goofish.{m.name}" for m in pkgutil.iter_modules([str(ROOT / "core" / "goofish")]))
    code = "import sys\n" + "".join(f"import {name}\n" for name in modules) + (
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(len(sys.modules)); assert not bad, bad\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "core.service" in modules and "core.goofish.decode" in modules
