"""Adding an account to accounts.yml as text: the new entry is there, and every byte that was there stays."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core.config import load_config
from core.config.append import add_account, with_account
from core.errors import ConfigError

TYPICAL = """\
# my shops
server: live
accounts:
  - id: shop-a   # main
    cookie: "unb=1; _m_h5_tk=a_1"
    keywords:
      - {match: 包邮, reply: 包邮的}

  # old shop
  # - id: shop-z
settings:
  debounce_seconds: 1
"""

CASES = {
    "comments and a key after the list": TYPICAL,
    "the list at column 0": "accounts:\n- id: a\n  enabled: true\n",
    "no newline at the end": "accounts:\n  - id: a",
    "a block literal last": "accounts:\n  - id: a\n    default_reply: |\n      line1\n      line2\n",
    "accounts: null": "accounts:\nsettings: {}\n",
    "no accounts key": "server: demo\n",
    "an empty file": "",
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_the_entry_is_added_and_every_line_kept(text: str) -> None:
    out = with_account(text, "shop-b", '小王的店 "b"')
    accounts = yaml.safe_load(out)["accounts"]
    assert accounts[-1] == {"id": "shop-b", "alias": '小王的店 "b"', "enabled": True}
    assert len(accounts) == len((yaml.safe_load(text) or {}).get("accounts") or []) + 1
    position = 0
    for line in text.splitlines():  # every old line, in its order
        position = out.index(line, position)


def test_in_the_typical_file_it_lands_after_the_last_entry_at_its_indentation() -> None:
    out = with_account(TYPICAL, "shop-b", "b")
    assert out == TYPICAL.replace("settings:\n", '  - id: "shop-b"\n    alias: "b"\n    enabled: true\nsettings:\n')


def test_an_empty_flow_list_becomes_a_block_keeping_its_comment() -> None:
    out = with_account("server: demo\naccounts: []   # none yet\nsettings: {}\n", "shop-b", "b")
    assert out == 'server: demo\naccounts:   # none yet\n  - id: "shop-b"\n    alias: "b"\n    enabled: true\nsettings: {}\n'


def test_a_flow_list_with_entries_and_broken_yaml_are_refused_with_the_line() -> None:
    with pytest.raises(ConfigError, match="accounts.yml:1: accounts: cannot add shop-b to a"):
        with_account("accounts: [{id: a}]\n", "shop-b", "b")
    with pytest.raises(ConfigError, match=r"accounts.yml:3: accounts: cannot add shop-b: the file is not valid YAML"):
        with_account("accounts:\n  - id: [\n", "shop-b", "b")


def test_the_file_is_replaced_whole_keeping_its_mode_and_loads(tmp_path: Path) -> None:
    path = tmp_path / "accounts.yml"
    path.write_text(TYPICAL, encoding="utf-8")
    path.chmod(0o640)
    add_account(path, "shop-b", "b")
    assert path.stat().st_mode & 0o777 == 0o640
    assert [a.id for a in load_config(path).accounts] == ["shop-a", "shop-b"]
    assert [p.name for p in tmp_path.iterdir()] == ["accounts.yml"], "no scratch file left behind"
