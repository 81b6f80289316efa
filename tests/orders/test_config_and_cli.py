"""accounts.yml delivery keys (parsed and rejected with FILE:LINE) and the `stock` commands, run as a user would."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import xianyu
from core.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parents[2]

FILE = """\
server: demo
database: sqlite:///{db}
accounts:
  - id: shop-a
    delivery:
      - item: "900000000001"
        stock: cards
        message: "卡密：{{code}}（{{unit}}/{{quantity}}）"
        low_stock: 2
        confirm: before
        delay: 1.5
      - default: true
        api: "http://127.0.0.1:9/codes?order={{order_id}}"
        method: POST
        timeout: 2
        retries: 0
        field: data.code
        before: "{{buyer_nick}} 您好"
        after: 谢谢
        confirm: "off"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "accounts.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_delivery_keys_are_read(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FILE.format(db=tmp_path / "x.db")))
    stock, api = config.accounts[0].delivery
    assert (stock.kind, stock.source, stock.low_stock, stock.confirm, stock.delay) == ("stock", "cards", 2, "before",
                                                                                         1.5)
    assert (api.item, api.method, api.timeout, api.retries, api.response_field) == (None, "POST", 2.0, 0,
                                                                                      "data.code")
    assert (api.before, api.after, api.confirm, api.message) == ("{buyer_nick} 您好", "谢谢", "off", "{code}")


def test_bad_delivery_keys_name_file_line_and_key(tmp_path: Path) -> None:
    text = FILE.format(db=tmp_path / "x.db").replace("low_stock: 2", "low_stock: -1\n        field: x").replace(
        "method: POST", "method: PUT").replace("confirm: before", "confirm: sometimes").replace(
        "retries: 0", "retries: many").replace('after: 谢谢', 'after: "{codes}"')
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    lines = [str(issue).split(": ", 1)[1] for issue in caught.value.errors]
    assert lines == [
        "accounts[0].delivery[0].low_stock: must be at least 0, got -1",
        "accounts[0].delivery[0].field: only for api rules",
        "accounts[0].delivery[0].confirm: expected one of before, after, off, got 'sometimes'",
        "accounts[0].delivery[1].method: expected one of GET, POST, got 'PUT'",
        "accounts[0].delivery[1].retries: expected an integer, got 'many'",
        "accounts[0].delivery[1].after: unknown placeholder '{codes}' (did you mean '{code}'?)",
    ]


def stock(*args: str, config: Path) -> subprocess.CompletedProcess[str]:
    """`python xianyu.py stock …` as a user runs it."""
    return subprocess.run([sys.executable, "xianyu.py", "stock", *args, "--config", str(config)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def stock_here(capsys: pytest.CaptureFixture[str], *args: str, config: Path) -> tuple[int, str, str]:
    """The same command line in this process (the process start costs a second on a busy machine)."""
    code = xianyu.main(["stock", *args, "--config", str(config)])
    out, err = capsys.readouterr()
    return code, out, err


def test_stock_import_count_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path, FILE.format(db=tmp_path / "x.db"))
    codes = tmp_path / "codes.txt"
    codes.write_text("SECRET-AAAA-1111\n\n  SECRET-BBBB-2222  \nSECRET-AAAA-1111\n", encoding="utf-8")
    first = stock("import", "cards", str(codes), config=config)
    assert first.returncode == 0 and first.stdout == "cards: added 2, duplicates 1, 2 left\n"
    assert stock_here(capsys, "import", "cards", str(codes), config=config) == (
        0, "cards: added 0, duplicates 3, 2 left\n", "")
    assert stock_here(capsys, "count", config=config)[1] == "cards: 2 left (0 reserved, 0 sent)\n"
    assert stock_here(capsys, "count", "gifts", config=config)[1] == "gifts: 0 left (no such list yet)\n"
    code, listing, _ = stock_here(capsys, "list", "cards", config=config)
    assert code == 0 and len(listing.splitlines()) == 2 and all(" available" in line for line in listing.splitlines())
    assert "SECRET" not in listing + first.stdout + first.stderr


def test_stock_errors_are_clear_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write(tmp_path, FILE.format(db=tmp_path / "x.db"))
    code, _, err = stock_here(capsys, "import", "cards", str(tmp_path / "nope.txt"), config=config)
    assert code == 2 and "cannot read" in err and "Traceback" not in err
    code, _, err = stock_here(capsys, "import", "no such", str(tmp_path / "nope.txt"), config=config)
    assert code == 2 and "stock list name" in err
    code, _, err = stock_here(capsys, "count", config=tmp_path / "absent.yml")
    assert code == 2 and "cannot read" in err
