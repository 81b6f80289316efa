"""Exactly once across restarts and across two services sharing one PostgreSQL database."""

from __future__ import annotations

from sqlalchemy import update

from core.goofish.messages import ImEvent
from storage import DeliveryUnit, StockCode, Store, open_engine
from tests.orders.support import SELLER, codes_sent, fill_stock, place_paid, stock_seller, wait_delivered
from tests.service.conftest import ITEM, Env
from tests.service.support import stays, wait_until


def test_a_send_the_server_took_before_the_crash_is_not_sent_again(env: Env) -> None:
    """The process died after the server took the message but before the unit was marked sent: the next run
    finds the unit reserved with a counted send, sees the message in the chat history, and only marks it."""
    run = env.start([stock_seller(env, 3)])
    codes = fill_stock(run, "cards", 3)
    order_id = place_paid(env)
    wait_delivered(run, order_id)
    run.stop()
    engine = open_engine(env.db_url)  # put the rows back the way a kill -9 right after the send leaves them
    with engine.begin() as conn:
        conn.execute(update(DeliveryUnit).where(DeliveryUnit.order_id == order_id)
                     .values(state="reserved", sent_at_ms=None))
        conn.execute(update(StockCode).where(StockCode.order_id == order_id).values(state="reserved"))
    engine.dispose()
    with Store(env.db_url) as store:
        store.orders.update(SELLER, order_id, delivery_state="reserved", lease_owner="otherhost/1/x",
                            lease_until_ms=1)
    run = env.restart(run)
    wait_delivered(run, order_id)
    assert stays(lambda: codes_sent(env, codes) == [codes[0]], 1.0)
    assert run.store.stock.counts("cards")["cards"] == {"available": 2, "reserved": 0, "sent": 1}


def test_a_notice_received_as_the_buyer_is_not_delivered(env: Env) -> None:
    run = env.start([stock_seller(env, 3)])
    session = run.svc.manager.session(SELLER)
    notice = ImEvent(kind="order", cid="47800000001", sender_id=env.unb(SELLER), item_id=ITEM,
                     order_id="2500000000000000001", order_status="paid", message_id="m" * 32)
    run.svc.orders.on_notice(session, notice)
    assert run.store.orders.get(SELLER, "2500000000000000001") is None


def test_two_services_sharing_postgres_deliver_once(clean_postgres_url: str, env: Env) -> None:
    # clean_postgres_url first: its teardown (dropping the tables) must come after env's (stopping services).
    env.write([stock_seller(env, 6)], database=clean_postgres_url)
    first, second = env.launch(), env.launch()
    env.wait_online(first)
    env.wait_online(second)
    wait_until(lambda: env.ctl.account_state(env.unb(SELLER))["open_connections"] == 2)
    codes = fill_stock(first, "cards", 6)
    order_ids = [place_paid(env, buyer=f"33000000000{n}", quantity=2) for n in range(3)]
    for order_id in order_ids:
        wait_delivered(first, order_id)
    assert stays(lambda: sorted(codes_sent(env, codes)) == codes, 1.5)
    assert first.store.stock.counts("cards")["cards"] == {"available": 0, "reserved": 0, "sent": 6}


def test_a_full_replay_after_restart_delivers_nothing_more(env: Env) -> None:
    run = env.start([stock_seller(env, 4)])
    codes = fill_stock(run, "cards", 4)
    order_id = place_paid(env, quantity=2)
    wait_delivered(run, order_id)
    wait_until(lambda: env.ctl.account_state(env.unb(SELLER))["unacked"] == 0)
    run.stop()
    run.store.accounts.update(SELLER, 1, sync_pts=1)  # the next start asks for everything again
    acks = env.ctl.account_state(env.unb(SELLER))["acks"]
    run = env.restart(run)
    wait_until(lambda: env.ctl.account_state(env.unb(SELLER))["acks"] >= acks + 6)  # the cards came again
    assert stays(lambda: sorted(codes_sent(env, codes)) == codes[:2], 1.0)
    assert run.store.stock.counts("cards")["cards"]["sent"] == 2
