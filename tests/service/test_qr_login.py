"""``python xianyu.py login ACCOUNT`` as a seller runs it: a real subprocess against the simulator's passport, the
phone played by ``/_sim/qr`` (issue 13 §1; contracts §3.4).

A new account logs in while a service runs on the same database and config: accounts.yml gains the entry (the
rest byte for byte), the service starts the account by itself and it answers a buyer. An existing account's login
is replaced in place. Cancelled, expired past the limit, a phone check never completed, another seller's scan:
exit 1 and nothing stored. No cookie value reaches the command's output.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from core.goofish.cookies import CookieJar
from storage import Store
from tests.service.child import ROOT, Child
from tests.service.conftest import BUYER, Env
from tests.service.support import leaked, wait_until

NEW_UNB = "2200000000555"
NICK = "小王的店"
REPLY = "收到：{text}"


class Login:
    """``xianyu.py login`` running in the background; ``code(n)`` is the n-th code it showed (1-based)."""

    def __init__(self, env: Env, account_id: str, *extra: str) -> None:
        self.env = env
        self.before = len(env.ctl.qr_codes())
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "xianyu.py"), "login", account_id,
                                      "--config", str(env.config), *extra], cwd=env.dir,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def code(self, n: int = 1) -> str:
        wait_until(lambda: len(self.env.ctl.qr_codes()) >= self.before + n, 15, self._late)
        return self.env.ctl.qr_codes()[self.before + n - 1]["t"]

    def _late(self) -> str:
        return f"no code yet; exit {self.proc.poll()}"

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err


def _stored_jar(env: Env, account_id: str) -> CookieJar | None:
    """The account's stored jar; None when there is none (or no database yet: a failed login opens none)."""
    if not (env.dir / "x.db").exists():
        return None
    with Store(f"sqlite:///{env.dir / 'x.db'}") as store:  # the jar is sealed in the file: the store opens it
        row = store.accounts.get(account_id)
    return CookieJar.parse(row.cookie_jar) if row and row.cookie_jar else None


def _scan_and_confirm(env: Env, t: str, unb: str = NEW_UNB, nick: str = NICK) -> None:
    time.sleep(1.2)  # the command polls the new code (NEW) once before the phone gets to it
    env.ctl.qr(t, "scan")
    time.sleep(1.2)  # the command sees SCANED on a poll of its own
    env.ctl.qr(t, "confirm", unb=unb, nick=nick)


def _secrets_absent(env: Env, jar: CookieJar, *texts: str) -> None:
    values = {f"cookie {name}": v for name, v in jar.items() if len(v) >= 8}
    assert leaked(values, {f"output {n}": text for n, text in enumerate(texts)}) == []


def test_a_new_account_logs_in_by_qr_and_the_running_service_starts_it(env: Env, children: list[Child]) -> None:
    env.write([env.seller("shop-a", default_reply=REPLY)])
    original = env.config.read_text(encoding="utf-8")
    service = Child(env.config, cwd=env.dir)
    children.append(service)
    wait_until(lambda: env.ctl.online(env.unb("shop-a")), 20, service.log)

    login = Login(env, "shop-b")
    _scan_and_confirm(env, login.code())
    code, out, err = login.finish()
    assert code == 0, err
    assert "waiting for the scan" in out and "scanned: confirm the login" in out and "confirmed" in out
    assert f"shop-b: logged in as {NICK}" in out and f"added to {env.config}" in out
    assert not (env.dir / "login-shop-b.png").exists(), "the PNG of a used code is removed"

    text = env.config.read_text(encoding="utf-8")
    kept = text.startswith(original)  # (not compared in the assert itself: the file holds cookies)
    assert kept, "accounts.yml changed above the new entry"
    assert yaml.safe_load(text)["accounts"][-1] == {"id": "shop-b", "alias": NICK, "enabled": True}
    jar = _stored_jar(env, "shop-b")
    assert jar is not None and jar.unb == NEW_UNB and jar.get("_m_h5_tk")

    # The running service reloads the config and starts shop-b on the stored login.
    wait_until(lambda: env.ctl.online(NEW_UNB), 30, service.log)
    _secrets_absent(env, jar, out, err, service.log())
    assert service.proc.poll() is None, service.log()


def test_the_new_account_answers_buyers_once_the_seller_gives_it_a_reply(env: Env, children: list[Child]) -> None:
    env.write([env.seller("shop-a")])
    login = Login(env, "shop-b")
    _scan_and_confirm(env, login.code())
    assert login.finish()[0] == 0
    # The seller edits the entry the login wrote, as a seller would, then starts the service.
    text = env.config.read_text(encoding="utf-8")
    edited = re.sub(r'(?m)^( *)alias: "(.*)"$', rf'\1alias: "\2"\n\1default_reply: "{REPLY}"', text)
    changed = edited != text  # (not compared in the assert itself: the file holds cookies)
    assert changed, "no alias line written by the login"
    env.config.write_text(edited, encoding="utf-8")
    service = Child(env.config, cwd=env.dir)
    children.append(service)
    wait_until(lambda: env.ctl.online(NEW_UNB), 30, service.log)
    cid = env.ctl.message(NEW_UNB, BUYER, "在吗")["cid"]
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(NEW_UNB, cid)] == ["收到：在吗"], 20, service.log)


def test_an_existing_accounts_login_is_replaced_in_place(env: Env) -> None:
    shop_b = env.seller("shop-b")
    env.write([shop_b])
    before = env.config.read_text(encoding="utf-8")
    login = Login(env, "shop-b")
    _scan_and_confirm(env, login.code(), unb=env.unb("shop-b"))
    code, out, err = login.finish()
    assert code == 0, err
    same = env.config.read_text(encoding="utf-8") == before  # (not in the assert: the file holds cookies)
    assert same, "an existing account's entry is left as it is"
    jar = _stored_jar(env, "shop-b")
    assert jar is not None and jar.get("cookie2") != CookieJar.parse(shop_b["cookie"]).get("cookie2")


def test_an_account_waiting_for_a_login_restarts_on_the_new_one(make_env: Any, children: list[Child]) -> None:
    """The login dies (hasLogin says so), the account is parked in login_required; ``login`` with the account's
    own phone brings it back online in the running service, with no restart of the service."""
    env: Env = make_env(token_ttl=60)  # every reconnect calls the token API: the dead login shows there
    env.write([env.seller("shop-b", default_reply=REPLY)])
    service = Child(env.config, cwd=env.dir)
    children.append(service)
    unb = env.unb("shop-b")
    wait_until(lambda: env.ctl.online(unb), 20, service.log)
    env.ctl.fault(unb, "session_expired", 1)  # the token call; then hasLogin and the silent login say no:
    env.ctl.fault(unb, "renewal_fail", 2)     # the login is dead
    env.ctl.fault(unb, "disconnect", 1)
    wait_until(lambda: service.has("login_required"), 20, service.log)
    login = Login(env, "shop-b")
    _scan_and_confirm(env, login.code(), unb=unb)
    assert login.finish()[0] == 0
    wait_until(lambda: service.has("cookies saved from outside the service") and env.ctl.online(unb), 20,
               service.log)
    cid = env.ctl.message(unb, BUYER, "回来了吗")["cid"]
    wait_until(lambda: [m["text"] for m in env.ctl.sent_in(unb, cid)] == ["收到：回来了吗"], 20, service.log)


def test_another_sellers_scan_is_refused_and_nothing_is_stored(env: Env) -> None:
    env.write([env.seller("shop-b")])
    login = Login(env, "shop-b")
    _scan_and_confirm(env, login.code(), unb="2200000000999", nick="别人")
    code, _, err = login.finish()
    assert code == 1 and "confirmed by another account" in err
    assert _stored_jar(env, "shop-b") is None


def test_a_cancel_ends_the_login_with_exit_1(env: Env) -> None:
    env.write([])
    login = Login(env, "shop-b")
    env.ctl.qr(login.code(), "cancel")
    code, out, err = login.finish()
    assert code == 1 and "cancelled in the app" in err
    assert yaml.safe_load(env.config.read_text(encoding="utf-8"))["accounts"] == []


def test_expired_codes_are_replaced_up_to_the_limit(env: Env) -> None:
    env.write([])
    login = Login(env, "shop-b")
    for n in (1, 2, 3):
        env.ctl.qr(login.code(n), "expire")
    code, out, err = login.finish()
    assert code == 1 and "expired 3 time(s)" in err
    assert "(code 2 of 3)" in out and "(code 3 of 3)" in out
    assert len(env.ctl.qr_codes()) == 3


def test_an_expired_code_then_a_scan_of_the_next_logs_in(env: Env) -> None:
    env.write([])
    login = Login(env, "shop-b")
    env.ctl.qr(login.code(1), "expire")
    _scan_and_confirm(env, login.code(2))
    assert login.finish()[0] == 0
    assert [c["status"] for c in env.ctl.qr_codes()] == ["EXPIRED", "CONFIRMED"]


def test_a_phone_check_shows_its_page_once_and_waits_without_new_codes(env: Env) -> None:
    env.write([])
    login = Login(env, "shop-b", "--check-wait", "3")
    t = login.code()
    env.ctl.qr(t, "phone_check")
    _scan_and_confirm(env, t)
    code, out, err = login.finish()
    assert code == 1 and "face check was not completed within 3 s" in err
    assert out.count("wants a check on the phone") == 1 and "/iv/remote/mini/request.htm" in out
    assert out.count("asks for a face check: scan this second code") == 1
    assert len(env.ctl.qr_codes()) == 1, "no new codes while a phone check is pending"
    assert _stored_jar(env, "shop-b") is None


def test_the_face_check_is_followed_to_its_second_code_and_logs_in_only_once_it_is_confirmed(env: Env) -> None:
    env.write([])
    login = Login(env, "shop-b")
    t = login.code()
    env.ctl.qr(t, "phone_check")
    _scan_and_confirm(env, t)
    wait_until(lambda: env.ctl.qr_codes()[-1]["face"] == "NEW", 10)
    time.sleep(1.2)  # the command polls the face check (NEW) before the phone gets to it
    env.ctl.qr(t, "face_scan")
    assert _stored_jar(env, "shop-b") is None, "no login before the face check is confirmed"
    time.sleep(1.2)
    env.ctl.qr(t, "face_confirm")
    code, out, err = login.finish()
    assert code == 0, err
    assert "face check: follow the steps on the phone" in out and "face check passed" in out
    jar = _stored_jar(env, "shop-b")
    assert jar is not None and jar.unb == NEW_UNB
    assert len(env.ctl.qr_codes()) == 1, "one code: the check was followed, never restarted"


def test_a_config_error_exits_2_and_an_unusable_id_too(env: Env, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("accounts:\n  - id: [x]\n", encoding="utf-8")
    run: Any = subprocess.run([sys.executable, str(ROOT / "xianyu.py"), "login", "shop-b", "--config", str(bad)],
                              capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "bad.yml:2" in run.stderr
    env.write([env.seller("shop-a")])
    run = subprocess.run([sys.executable, str(ROOT / "xianyu.py"), "login", "shop b!", "--config", str(env.config)],
                         capture_output=True, text=True, timeout=30)
    assert run.returncode == 2 and "ACCOUNT is 1-64 of" in run.stderr


def test_on_the_demo_marketplace_its_simulated_phone_scans_and_the_account_is_added(tmp_path: Path) -> None:
    """``server: demo`` needs no phone and no account: the demo marketplace plays the phone (scan, confirm)."""
    demo = tmp_path / "demo.yml"
    demo.write_text("server: demo\naccounts: []\n", encoding="utf-8")
    run = subprocess.run([sys.executable, str(ROOT / "xianyu.py"), "login", "shop-b", "--config", str(demo)],
                         capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "scanned: confirm the login" in run.stdout and "shop-b: logged in as shop-b" in run.stdout
    assert yaml.safe_load(demo.read_text(encoding="utf-8"))["accounts"] == [
        {"id": "shop-b", "alias": "shop-b", "enabled": True}]
