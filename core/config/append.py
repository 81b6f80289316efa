"""Add an account to accounts.yml without touching a byte of what is there (``xianyu.py login`` of a new id).

A round-trip through a YAML library re-flows quotes, spacing and long lines now and then; the seller's file is
theirs. So the new entry is inserted as text: after the last entry of the ``accounts:`` block sequence, at its
indentation (``accounts: []`` becomes a block; a file without ``accounts:`` gets one at the end). The file is
replaced atomically, keeping its mode.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import yaml

from core.errors import ConfigError, ConfigIssue


def add_account(path: Path, account_id: str, alias: str) -> None:
    """Append ``{id, alias, enabled: true}`` to the accounts of the file at ``path``."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    _replace(path, with_account(text, account_id, alias, str(path)))


def with_account(text: str, account_id: str, alias: str, name: str = "accounts.yml") -> str:
    """``text`` with the entry added; everything else as it was."""
    try:
        root = yaml.compose(text) if text.strip() else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        issue = ConfigIssue(name, line, "accounts", f"cannot add {account_id}: the file is not valid YAML")
        raise ConfigError([issue]) from None
    accounts = _accounts_node(root)
    if accounts is None:  # no accounts: key at all
        prefix = text if not text or text.endswith("\n") else text + "\n"
        return prefix + "accounts:\n" + _entry("  ", account_id, alias)
    if isinstance(accounts, yaml.SequenceNode) and accounts.value and not accounts.flow_style:
        last = accounts.value[-1]
        dash = _dash_column(text, accounts.value[0])
        at = _end_of_line(text, last.end_mark.index)
        head = text[:at] if text[:at].endswith("\n") or not text[:at] else text[:at] + "\n"
        return head + _entry(" " * dash, account_id, alias) + text[at:]
    # `accounts: []`, `accounts:` (null) or a flow list: the value becomes a block list with the one entry.
    start, end = accounts.start_mark.index, accounts.end_mark.index
    if isinstance(accounts, yaml.SequenceNode) and accounts.value:
        raise ConfigError([ConfigIssue(name, accounts.start_mark.line + 1, "accounts",
                                       f"cannot add {account_id} to a [flow, list]: write it as a block list")])
    line_start = text.rfind("\n", 0, start) + 1
    indent = " " * (len(text[line_start:start]) - len(text[line_start:start].lstrip())) + "  "
    newline = text.find("\n", end)
    rest_of_line, after = (text[end:], "") if newline < 0 else (text[end:newline], text[newline + 1:])
    # A comment after `[]` stays on the accounts: line.
    return (text[:start].rstrip(" ") + (rest_of_line if rest_of_line.strip() else "") + "\n"
            + _entry(indent, account_id, alias) + after)


def _accounts_node(root: yaml.Node | None) -> yaml.Node | None:
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "accounts":
            return value
    return None


def _dash_column(text: str, first_item: yaml.Node) -> int:
    """The column of the ``-`` that starts the sequence's first entry."""
    line_start = text.rfind("\n", 0, first_item.start_mark.index) + 1
    dash = text.rfind("-", line_start, first_item.start_mark.index)
    return dash - line_start if dash >= 0 else max(0, first_item.start_mark.column - 2)


def _end_of_line(text: str, index: int) -> int:
    """Where the line holding ``index`` ends (after its newline); a node ending at a line's start ends there."""
    if index > 0 and text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return len(text) if newline < 0 else newline + 1


def _entry(indent: str, account_id: str, alias: str) -> str:
    # JSON strings are YAML double-quoted scalars: any id or nick is written safely.
    return (f"{indent}- id: {json.dumps(account_id, ensure_ascii=False)}\n"
            f"{indent}  alias: {json.dumps(alias, ensure_ascii=False)}\n"
            f"{indent}  enabled: true\n")


def _replace(path: Path, text: str) -> None:
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    fd, scratch = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(scratch, mode)
        os.replace(scratch, path)
    except BaseException:
        Path(scratch).unlink(missing_ok=True)
        raise
