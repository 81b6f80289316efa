"""accounts.yml loading, validation messages (exact FILE:LINE: key.path: message lines), reload and masking."""

import dataclasses
import textwrap
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.config import (
    FILE_KEYS_DOC,
    SETTINGS_DOC,
    ConfigError,
    ConfigWatcher,
    KeywordRule,
    Settings,
    allowed_keys,
    diff_accounts,
    load_config,
    reference_markdown,
    render_template,
    summary,
)

COOKIE = "unb=2202640918079; _m_h5_tk=5f2b9c0e7d1a_1700000000000; cookie2=1a2b3c4d5e6f"
SECRETS = ("5f2b9c0e7d1a", "1a2b3c4d5e6f", "2202640918079", "hunter2", "dbpass")

FULL = f"""\
server: live
database: postgresql://shop:dbpass@localhost/xianyu
settings:
  takeover_minutes: 5
  heartbeat_interval: 20
  log_level: debug
accounts:
  - id: shop-a
    alias: 小店A
    cookie: "{COOKIE}"
    proxy: http://user:hunter2@10.0.0.1:8080
    user_agent: "Mozilla/5.0 Test"
    keywords:
      - match: 包邮
        reply: "包邮的，拍下就发"
      - match: {{regex: "多少钱|价格"}}
        item: "900052644277"
        reply: "{{item_title}} 现价 {{item_price}} 元"
      - match: {{exact: 在吗}}
        reply: ""
    item_replies:
      - item: 900052644278
        reply: 这个宝贝今天下单今天发
    default_reply: {{text: "在的，有什么可以帮您？", once: true}}
    takeover_minutes: 0
    delivery:
      - item: "900052644277"
        stock: cards-a
        message: "卡密：{{code}}，感谢购买"
      - default: true
        text: "下载链接：https://example.com/{{order_id}}"
  - id: shop-b
    cookie_env: SHOP_B_COOKIE
    enabled: false
    default_reply: 稍等
"""
ENV = {"SHOP_B_COOKIE": "unb=1234567890123; t=abc\n"}


def write(directory: Path, text: str, name: str = "accounts.yml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def issues(directory: Path, text: str, env: dict[str, str] | None = None) -> list[str]:
    """The error lines for *text* written as accounts.yml; the cwd is *directory*, so FILE is accounts.yml."""
    write(directory, text)
    with pytest.raises(ConfigError) as caught:
        load_config("accounts.yml", env=env or {})
    assert str(caught.value) == "\n".join(str(issue) for issue in caught.value.errors)
    return str(caught.value).splitlines()


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_full_valid_file(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), env=ENV)
    assert config.server.mode == "live" and config.server.ws == "wss://wss-goofish.dingtalk.com/"
    assert config.database == "postgresql://shop:dbpass@localhost/xianyu"
    assert config.settings.takeover_minutes == 5 and config.settings.log_level == "DEBUG"
    assert config.settings.heartbeat_interval == 20.0 and config.settings.retention_days == 30

    a = config.account("shop-a")
    assert (a.alias, a.unb, a.enabled, a.user_agent) == ("小店A", "2202640918079", True, "Mozilla/5.0 Test")
    assert a.proxy == "http://user:hunter2@10.0.0.1:8080"
    # Item-bound rules are tried first; rule ids point at the position in the file's keywords list.
    assert [(r.rule_id, r.kind, r.pattern) for r in a.keywords] == [
        ("item_keyword[1]", "regex", "多少钱|价格"),
        ("keyword[0]", "contains", "包邮"),
        ("keyword[2]", "exact", "在吗"),
    ]
    assert a.keywords[0].item == "900052644277" and a.keywords[2].reply == ""
    assert [(r.item, r.reply) for r in a.item_replies] == [("900052644278", "这个宝贝今天下单今天发")]
    assert (a.default_reply.text, a.default_reply.once) == ("在的，有什么可以帮您？", True)
    assert [(d.kind, d.source, d.item, d.message) for d in a.delivery] == [
        ("stock", "cards-a", "900052644277", "卡密：{code}，感谢购买"),
        ("text", "下载链接：https://example.com/{order_id}", None, None),
    ]
    assert a.effective.takeover_minutes == 0 and a.effective.heartbeat_interval == 20.0

    b = config.account("shop-b")
    assert (b.cookie, b.cookie_env, b.enabled) == ("unb=1234567890123; t=abc", "SHOP_B_COOKIE", False)
    assert (b.default_reply.text, b.default_reply.once) == ("稍等", False)
    assert b.effective.takeover_minutes == 5
    with pytest.raises(KeyError):
        config.account("nope")


def test_defaults_when_keys_are_absent(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "accounts: []\n"))
    assert config.server.mode == "live" and config.database == "sqlite:///data/xianyu.db"
    assert config.settings == Settings() and config.accounts == ()


def test_demo_needs_no_cookie(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "server: demo\naccounts:\n  - id: demo-1\n"))
    account = config.account("demo-1")
    assert config.server.mode == "demo" and config.server.ws is None
    assert account.cookie is None and account.unb is None
    assert "simulator" in account.masked()


def test_custom_server_with_ca(tmp_path: Path) -> None:
    (tmp_path / "sim-ca.pem").write_text("pem")
    config = load_config(write(tmp_path, """\
        server: {ws: "wss://127.0.0.1:9000/", api: "https://127.0.0.1:9001", passport: "https://127.0.0.1:9001",
                 ca: sim-ca.pem}
        accounts: []
        """))
    assert config.server.mode == "custom" and config.server.ws == "wss://127.0.0.1:9000/"
    assert config.server.ca == (tmp_path / "sim-ca.pem").resolve()


def test_yaml_anchors_and_merge_keys_are_followed(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """\
        server: demo
        accounts:
          - &base {id: a, enabled: false, takeover_minutes: 3}
          - <<: *base
            id: b
            keywords: &kw
              - {match: hi, reply: hello}
          - {id: c, keywords: *kw}
        """))
    b, c = config.account("b"), config.account("c")
    assert (b.enabled, b.effective.takeover_minutes) == (False, 3)
    assert c.keywords == b.keywords


ERROR_CASES = {
    "yaml syntax": ("""\
        server: demo
        accounts:
          - id: a
            alias: "unterminated
        """, ["accounts.yml:5: (yaml): found unexpected end of stream "
              "(while scanning a quoted scalar started on line 4)"]),
    "not a mapping": ("- a\n", ["accounts.yml:1: (file): expected a mapping of server, database, settings, "
                                "accounts; got a list"]),
    "accounts missing": ("server: demo\n", ["accounts.yml:1: accounts: missing (list the seller accounts, "
                                            "or write accounts: [])"]),
    "wrong type": ("""\
        settings:
          retention_days: abc
          debounce_seconds: [1]
          pool_size: 1.5
        accounts: []
        """, ["accounts.yml:2: settings.retention_days: expected an integer, got 'abc'",
              "accounts.yml:3: settings.debounce_seconds: expected a number, got a list",
              "accounts.yml:4: settings.pool_size: expected an integer, got '1.5'"]),
    "negative": ("""\
        settings:
          takeover_minutes: -3
          heartbeat_interval: 0
        accounts: []
        """, ["accounts.yml:2: settings.takeover_minutes: must not be negative, got -3",
              "accounts.yml:3: settings.heartbeat_interval: must be at least 1, got 0"]),
    "unknown key": ("""\
        server: demo
        accounts:
          - id: a
            keywrods: []
            colour: red
        """, ["accounts.yml:4: accounts[0].keywrods: unknown key 'keywrods' (did you mean 'keywords'?)",
              "accounts.yml:5: accounts[0].colour: unknown key 'colour'"]),
    "misplaced setting": ("""\
        server: demo
        takeover_minutes: 3
        accounts:
          - id: a
            pool_size: 4
        """, ["accounts.yml:2: takeover_minutes: 'takeover_minutes' belongs under settings:",
              "accounts.yml:5: accounts[0].pool_size: 'pool_size' is a service-wide setting; set it under settings:"]),
    "duplicate key": ("""\
        server: demo
        accounts:
          - id: a
            enabled: true
            enabled: false
        """, ["accounts.yml:5: accounts[0].enabled: duplicate key (first on line 4)"]),
    "duplicate id": ("""\
        server: demo
        accounts:
          - id: shop-a
          - id: shop-b
          - id: shop-a
        """, ["accounts.yml:5: accounts[2].id: duplicate id 'shop-a' (first used on line 3)"]),
    "bad id": ("server: demo\naccounts:\n  - id: shop a\n",
               ["accounts.yml:3: accounts[0].id: an account id is 1-64 of A-Z a-z 0-9 _ . -, got 'shop a'"]),
    "bad regex": (f"""\
        server: live
        settings:
          heartbeat_interval: 15
        accounts:
          - id: shop-a
            cookie: "{COOKIE}"
            keywords:
              - match: 包邮
                reply: 包邮的
          - id: shop-b
            cookie: "{COOKIE}"
            keywords:
              - match:
                  regex: "["
                reply: hi
        """, ["accounts.yml:14: accounts[1].keywords[0].match.regex: bad regex: "
              "unterminated character set at position 0"]),
    "match forms": ("""\
        server: demo
        accounts:
          - id: a
            keywords:
              - {match: {exact: a, regex: b}, reply: x}
              - {match: "  ", reply: x}
              - {match: x}
        """, ["accounts.yml:5: accounts[0].keywords[0].match: give exactly one of contains, exact, regex",
              "accounts.yml:6: accounts[0].keywords[1].match: empty pattern (it would match every message)",
              'accounts.yml:7: accounts[0].keywords[2].reply: missing (write reply: "" to stay silent)']),
    "cookie_env unset": ("""\
        accounts:
          - id: shop-a
            cookie_env: SHOP_A_COOKIE
        """, ["accounts.yml:3: accounts[0].cookie_env: environment variable SHOP_A_COOKIE is not set"]),
    "cookie and cookie_env": (f"""\
        accounts:
          - id: shop-a
            cookie: "{COOKIE}"
            cookie_env: SHOP_A_COOKIE
        """, ["accounts.yml:4: accounts[0].cookie_env: give cookie or cookie_env, not both"]),
    "cookie without unb": ("""\
        accounts:
          - id: shop-a
            cookie: "_m_h5_tk=5f2b9c0e7d1a; cookie2=1a2b3c4d5e6f"
        """, ["accounts.yml:3: accounts[0].cookie: no unb= in the cookie; copy the whole Cookie header of a "
              "logged-in goofish.com tab"]),
    "bad server name": ("server: dmeo\naccounts: [{id: a}]\n",
                        ["accounts.yml:1: server: expected demo, live or a mapping {ws, api, passport, ca}, "
                         "got 'dmeo' (did you mean 'demo'?)"]),
    "bad server mapping": ("""\
        server:
          ws: http://127.0.0.1:9000/
          api: ftp://127.0.0.1
          ca: missing.pem
        accounts: []
        """, ["accounts.yml:2: server.ws: expected a ws:// or wss:// URL, got 'http://127.0.0.1:9000/'",
              "accounts.yml:2: server.passport: missing",
              "accounts.yml:3: server.api: expected a http:// or https:// URL, got 'ftp://127.0.0.1'",
              "accounts.yml:4: server.ca: file not found: {tmp}/missing.pem"]),
    "unknown placeholder": ("""\
        server: demo
        accounts:
          - id: a
            keywords:
              - {match: hi, reply: "你好 {buyr_nick}"}
            default_reply: "{code} {{literal}}"
        """, ["accounts.yml:5: accounts[0].keywords[0].reply: unknown placeholder '{buyr_nick}' "
              "(did you mean '{buyer_nick}'?)",
              "accounts.yml:6: accounts[0].default_reply: unknown placeholder '{code}' (known: {buyer_nick}, "
              "{item_title}, {item_price}, {text}; write {{ or }} for a literal brace)"]),
    "item ids": ("""\
        server: demo
        accounts:
          - id: a
            item_replies:
              - {item: "900052644277", reply: a}
              - {item: "900052644277", reply: b}
              - {item: "goofish.com/item?id=1", reply: c}
        """, ["accounts.yml:6: accounts[0].item_replies[1].item: duplicate item 900052644277 (first used on line 5)",
              "accounts.yml:7: accounts[0].item_replies[2].item: an item id is digits (as in "
              "goofish.com/item?id=…), got 'goofish.com/item?id=1'"]),
    "delivery": ("""\
        server: demo
        accounts:
          - id: a
            delivery:
              - {item: "1", text: hi, message: extra}
              - {stock: cards-a}
              - {default: true, text: a, stock: b}
              - {default: true, stok: cards-a}
        """, ["accounts.yml:5: accounts[0].delivery[0].message: a text rule sends its text; message goes with "
              "stock, api or image",
              "accounts.yml:6: accounts[0].delivery[1]: give item: ID or default: true",
              "accounts.yml:7: accounts[0].delivery[2]: give exactly one of text, stock, api, image",
              "accounts.yml:8: accounts[0].delivery[3].stok: unknown key 'stok' (did you mean 'stock'?)",
              "accounts.yml:8: accounts[0].delivery[3]: give exactly one of text, stock, api, image"]),
    "conflicting settings": ("""\
        settings:
          token_refresh_interval: 600
          token_refresh_jitter: 600
        server: demo
        accounts:
          - id: a
            reconnect_backoff_cap: 5
            reconnect_backoff_base: 10
        """, ["accounts.yml:3: settings.token_refresh_jitter: must be smaller than token_refresh_interval",
              "accounts.yml:7: accounts[0].reconnect_backoff_cap: must not be smaller than reconnect_backoff_base"]),
    "bad database and proxy": ("""\
        database: mysql://root:dbpass@db/x
        accounts:
          - id: a
            cookie: "unb=1"
            proxy: "ftp://user:hunter2@host"
        """, ["accounts.yml:1: database: expected sqlite:///PATH or postgresql://USER:PASS@HOST/DB",
              "accounts.yml:5: accounts[0].proxy: expected a proxy URL like http://USER:PASS@HOST:PORT "
              "(http, https, socks5, socks5h)"]),
}


@pytest.mark.parametrize("case", ERROR_CASES)
def test_error_lines(tmp_path: Path, case: str) -> None:
    text, expected = ERROR_CASES[case]
    assert issues(tmp_path, text) == [line.replace("{tmp}", str(tmp_path.resolve())) for line in expected]


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "accounts.yml").write_bytes("server: demo\naccounts: []\n# 小店\n".encode("gbk"))
    with pytest.raises(ConfigError, match=r"^accounts.yml:3: \(file\): not UTF-8 text; save the file as UTF-8$"):
        load_config("accounts.yml")


def test_unreadable_file() -> None:
    with pytest.raises(ConfigError, match=r"^nope.yml:1: \(file\): cannot read: No such file or directory$"):
        load_config("nope.yml")


def test_all_issues_in_one_pass(tmp_path: Path) -> None:
    lines = issues(tmp_path, """\
        server: live
        settings:
          slider_slots: none
        accounts:
          - id: shop-a
            keywrods: []
          - id: shop-a
            cookie_env: MISSING
            keywords:
              - {match: {regex: "(unclosed"}, reply: "{nick}"}
        """)
    assert lines == [
        "accounts.yml:3: settings.slider_slots: expected an integer, got 'none'",
        "accounts.yml:6: accounts[0].keywrods: unknown key 'keywrods' (did you mean 'keywords'?)",
        "accounts.yml:7: accounts[1].id: duplicate id 'shop-a' (first used on line 5)",
        "accounts.yml:8: accounts[1].cookie_env: environment variable MISSING is not set",
        "accounts.yml:10: accounts[1].keywords[0].match.regex: bad regex: missing ), unterminated subpattern "
        "at position 0",
        "accounts.yml:10: accounts[1].keywords[0].reply: unknown placeholder '{nick}' (known: {buyer_nick}, "
        "{item_title}, {item_price}, {text}; write {{ or }} for a literal brace)",
    ]


def test_cookie_env_reads_the_environment(tmp_path: Path) -> None:
    write(tmp_path, "accounts:\n  - id: a\n    cookie_env: SHOP_A\n")
    account = load_config("accounts.yml", env={"SHOP_A": f"  {COOKIE}\n"}).account("a")
    assert (account.cookie, account.cookie_env, account.unb) == (COOKIE, "SHOP_A", "2202640918079")
    assert issues(tmp_path, "accounts:\n  - id: a\n    cookie_env: SHOP_A\n", env={"SHOP_A": " "}) == [
        "accounts.yml:3: accounts[0].cookie_env: environment variable SHOP_A is empty"
    ]


def test_per_account_overrides_only_touch_that_account(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, """\
        server: demo
        settings: {debounce_seconds: 2, heartbeat_interval: 30}
        accounts:
          - {id: a, debounce_seconds: 0, takeover_minutes: 60}
          - {id: b}
        """))
    a, b = config.account("a").effective, config.account("b").effective
    assert (a.debounce_seconds, a.takeover_minutes, a.heartbeat_interval) == (0, 60, 30)
    assert (b.debounce_seconds, b.takeover_minutes, b.heartbeat_interval) == (2, 10, 30)
    assert config.settings.debounce_seconds == 2


def _config_with(tmp_path: Path, text: str, name: str):
    return load_config(write(tmp_path, text, name))


def test_diff_accounts(tmp_path: Path) -> None:
    old = _config_with(tmp_path, """\
        server: demo
        settings: {log_level: INFO, heartbeat_interval: 15}
        accounts:
          - {id: keep}
          - {id: edit, keywords: [{match: a, reply: b}]}
          - {id: gone}
          - {id: pinned, heartbeat_interval: 15}
        """, "old.yml")
    new = _config_with(tmp_path, """\
        server: demo
        # comments and global-only settings restart nothing
        settings: {log_level: DEBUG, pool_size: 4}
        accounts:
          - {id: keep}
          - {id: edit, keywords: [{match: a, reply: c}]}
          - {id: new}
          - {id: pinned, heartbeat_interval: 15}
        """, "new.yml")
    diff = diff_accounts(old, new)
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (
        {"new"}, {"gone"}, {"edit"}, {"keep", "pinned"})

    # A per-account setting changed globally restarts the accounts that inherit it, not the one pinning it.
    inherited = _config_with(tmp_path, old.path.read_text().replace(
        "settings: {log_level: INFO, heartbeat_interval: 15}", "settings: {heartbeat_interval: 20}"), "inherited.yml")
    assert diff_accounts(old, inherited).changed == {"keep", "edit", "gone"}
    # Another server means every session must reconnect, though the accounts read the same.
    text = f"server: SERVER\naccounts: [{{id: a, cookie: '{COOKIE}'}}]\n"
    demo = _config_with(tmp_path, text.replace("SERVER", "demo"), "demo.yml")
    live = _config_with(tmp_path, text.replace("SERVER", "live"), "live.yml")
    assert demo.accounts == live.accounts
    assert diff_accounts(demo, live).changed == {"a"} and diff_accounts(demo, demo).unchanged == {"a"}


def test_render_template() -> None:
    values = {"buyer_nick": "小王", "item_title": "{item_price} 手机壳", "text": "有货吗{0}{text}{__class__}"}
    assert render_template("{buyer_nick}：{text}", values) == "小王：有货吗{0}{text}{__class__}"
    assert render_template("{item_title}", values) == "{item_price} 手机壳"  # values are not re-scanned
    assert render_template("价格 {item_price} 元", values) == "价格  元"  # a missing value renders empty
    assert render_template("{{buyer_nick}} {{{buyer_nick}}} {unknown} {", values) == "{buyer_nick} {小王} {unknown} {"


@given(st.text(), st.text())
def test_render_template_passes_any_value_through(nick: str, text: str) -> None:
    assert render_template("{buyer_nick}:{text}", {"buyer_nick": nick, "text": text}) == f"{nick}:{text}"


def test_keyword_matching() -> None:
    contains = KeywordRule("keyword[0]", "contains", "包邮", "包邮的")
    assert contains.matches("请问包邮吗") and not contains.matches("邮费多少")
    latin = KeywordRule("keyword[1]", "contains", "iPhone", "")
    assert latin.matches("IPHONE 还在吗") and latin.matches("ｉｐｈｏｎｅ在吗")  # case and full-width folded
    exact = KeywordRule("keyword[2]", "exact", "在吗", "在的")
    assert exact.matches("  在吗 ") and not exact.matches("在吗？") and not exact.matches("你在吗")
    regex = KeywordRule("keyword[3]", "regex", r"多少钱|价格|\d+元", "")
    assert regex.matches("这个多少钱") and regex.matches("100元行吗") and not regex.matches("包邮吗")
    assert regex == KeywordRule("keyword[3]", "regex", r"多少钱|价格|\d+元", "") and hash(regex) == hash(
        KeywordRule("keyword[3]", "regex", r"多少钱|价格|\d+元", ""))


class Recorder:
    def __init__(self) -> None:
        self.changes: list = []
        self.errors: list[ConfigError] = []


def _watch(path: Path) -> tuple[ConfigWatcher, Recorder]:
    seen = Recorder()
    return ConfigWatcher(path, seen.changes.append, seen.errors.append), seen


def test_watcher_applies_an_edit_once_it_is_settled(tmp_path: Path) -> None:
    path = write(tmp_path, "server: demo\naccounts: [{id: a}]\n")
    watcher, seen = _watch(path)
    first = watcher.config
    watcher.poll()
    assert seen.changes == [] and seen.errors == []  # nothing changed since it started

    path.write_text("server: demo\naccounts: [{id: a}, {id: b}]\n")
    watcher.poll()
    assert seen.changes == []  # read once: maybe still being written
    watcher.poll()
    assert [[a.id for a in c.accounts] for c in seen.changes] == [["a", "b"]]
    assert watcher.config is seen.changes[0] and watcher.config != first
    watcher.poll()
    assert len(seen.changes) == 1


def test_watcher_reports_a_broken_edit_once_and_keeps_the_good_config(tmp_path: Path) -> None:
    path = write(tmp_path, "server: demo\naccounts: [{id: a}]\n")
    watcher, seen = _watch(path)
    good = watcher.config

    path.write_text("server: demo\naccounts: [{id: a, enabld: true}]\n")
    for _ in range(4):
        watcher.poll()
    assert [str(err) for err in seen.errors] == [
        f"{path}:2: accounts[0].enabld: unknown key 'enabld' (did you mean 'enabled'?)"
    ]
    assert seen.changes == [] and watcher.config is good

    path.write_text("server: demo\naccounts: [{id: a, enabled: false}]\n")
    watcher.poll()
    watcher.poll()
    assert len(seen.errors) == 1 and [c.account("a").enabled for c in seen.changes] == [False]


def test_watcher_ignores_a_half_written_file(tmp_path: Path) -> None:
    path = write(tmp_path, "server: demo\naccounts: [{id: a}]\n")
    watcher, seen = _watch(path)
    path.write_text("server: demo\naccounts: [{id: a}, {id")  # the editor is mid-save
    watcher.poll()
    path.write_text("server: demo\naccounts: [{id: a}, {id: b}]\n")
    watcher.poll()
    watcher.poll()
    assert seen.errors == [] and [len(c.accounts) for c in seen.changes] == [2]


def test_watcher_reports_a_deleted_file_once(tmp_path: Path) -> None:
    path = write(tmp_path, "server: demo\naccounts: []\n")
    watcher, seen = _watch(path)
    path.unlink()
    for _ in range(3):
        watcher.poll()
    assert [str(err) for err in seen.errors] == [f"{path}:1: (file): cannot read: No such file or directory"]
    assert watcher.config is not None and watcher.config.accounts == ()


def test_secrets_never_show(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, FULL), env={"SHOP_B_COOKIE": "unb=9988776655443; t=dbpass"})
    text = summary(config)
    for secret in SECRETS:
        assert secret not in repr(config)
        assert secret not in text
    assert "unb=220…(13)" in text and "http://user:***@10.0.0.1:8080" in text
    assert "postgresql://shop:***@localhost/xianyu" in text and "overrides: takeover_minutes=0" in text

    broken = FULL.replace("unb=2202640918079; ", "").replace("http://user:hunter2@10.0.0.1:8080", "hunter2")
    broken = broken.replace("postgresql://", "mysql://")
    lines = issues(tmp_path, broken, env={"SHOP_B_COOKIE": "unb=9988776655443; t=dbpass"})
    assert len(lines) == 3
    for secret in SECRETS:
        assert secret not in "\n".join(lines)


def test_every_accepted_key_is_documented() -> None:
    assert [doc.name for doc in SETTINGS_DOC] == [f.name for f in dataclasses.fields(Settings)]
    assert all(doc.meaning and doc.default == getattr(Settings(), doc.name) for doc in SETTINGS_DOC)
    assert allowed_keys("") == {"server", "database", "settings", "accounts", "notify"}
    assert allowed_keys("accounts[].keywords[].match") == {"contains", "exact", "regex"}
    reference = reference_markdown()
    assert all(f"`{doc.name}`" in reference for doc in SETTINGS_DOC)
    assert all(f"`{doc.key}`" in reference for doc in FILE_KEYS_DOC)
