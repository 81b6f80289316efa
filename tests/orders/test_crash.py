"""The crash test, short: the service as a subprocess, kill -9 at random moments during a stream of paid orders,
restarted each time; then every order has its codes exactly once and the stock adds up.
The full run (100 orders) is `python bench/orders_crash.py`."""

from __future__ import annotations

from pathlib import Path

from bench.orders_crash import run_crash


def test_kill_9_during_a_stream_of_paid_orders_loses_and_doubles_nothing(tmp_path: Path) -> None:
    report = run_crash(tmp_path, orders=12, kills=2, quantity_every=4, seed=20261128, settle_timeout=60,
                       order_gap=0.15)
    assert report.kills >= 1 and report.starts == report.kills + 1
    assert report.orders_missing_codes == 0 and report.orders_with_extra_codes == 0, report
    assert report.codes_in_two_orders == 0, report
    assert report.reserved == 0 and report.sent == report.units == 15, report
    assert report.available + report.sent == report.imported, report
    assert report.db_matches_buyers and report.shipped == report.orders, report
