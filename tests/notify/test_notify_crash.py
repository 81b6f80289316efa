"""A restart neither loses nor resends an incident, with the service as a real subprocess killed with SIGKILL:
killed inside the grouping window (the incident recorded, its message not yet written) → the next run sends it,
once; killed again after it went out → the run after says nothing more."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.harness import ServiceProcess
from tests.orders.support import place_paid, stock_seller
from tests.service.conftest import Env
from tests.service.support import stays, wait_until
from tests.webhooks import Receiver


def _incidents(db: Path) -> list[tuple[str, str]]:
    """(cause, due) of every incident, read straight from the running service's SQLite file."""
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
            return list(conn.execute("SELECT cause, due FROM notify_incident"))
    except sqlite3.OperationalError:  # the table is not there yet
        return []


def test_kill_9_in_the_grouping_window_and_after_sending_loses_and_repeats_nothing(env: Env, tmp_path: Path) -> None:
    with Receiver() as hook:
        env.write([stock_seller(env, 0)], notify=[hook.url("json", "/hook/KILLTOKEN99")],
                  settings={"delivery_attempts": 1, "notify": {"group_seconds": 4}})
        service = ServiceProcess(env.config, tmp_path / "service.log", log_level="INFO")
        db = Path(env.db_url.removeprefix("sqlite:///"))
        service.start()
        try:
            wait_until(lambda: env.ctl.state().get(env.unb("shop-a"), {}).get("online"), 20, "never online")
            place_paid(env)
            wait_until(lambda: [i for i in _incidents(db) if i[1] == "open"], 20, "no incident opened")
            service.kill()  # inside the 4 s window: nothing was written to the outbox yet
            assert hook.messages() == []

            service.start()
            wait_until(lambda: hook.messages(), 30, lambda: (tmp_path / "service.log").read_text()[-3000:])
            wait_until(lambda: _incidents(db) and _incidents(db)[0][1] == "", 10)  # announced, nothing due
            service.kill()
            service.start()
            wait_until(lambda: env.ctl.state().get(env.unb("shop-a"), {}).get("online"), 20, "never online again")
            assert stays(lambda: len(hook.messages()) == 1, 6.0), [m.title for m in hook.messages()]
            assert hook.messages()[0].title == "shop-a: an order could not be delivered"
        finally:
            service.stop()
