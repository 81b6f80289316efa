"""The package surface: every exported name resolves, and importing it pulls in no UI code."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import core.goofish as goofish


def test_all_names_resolve() -> None:
    for name in goofish.__all__:
        assert getattr(goofish, name) is not None, name


def test_import_does_not_pull_in_textual() -> None:
    repo = Path(__file__).resolve().parents[3]
    code = "import sys, core.goofish; sys.exit(1 if any(m.split('.')[0] == 'textual' for m in sys.modules) else 0)"
    assert subprocess.run([sys.executable, "-c", code], cwd=repo, check=False).returncode == 0
