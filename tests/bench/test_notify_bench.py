"""The notifications-under-load bench, short: 3 accounts, 10 keyword msg/s and 2 paid orders/s for 3 s per run, one
A/B pair. Asserts that both runs ran and printed their figures: keyword replies measured in both, the working
receiver got notifications, the hanging one saw POST attempts, the outbox has rows, and the ratio is a number. The
ratio's value is the long form's business (`python bench/notify_load.py`), never asserted here (this machine is
shared and noisy)."""

from __future__ import annotations

import io
import math

import pytest

from bench.notify_load import parse_args, run_bench


@pytest.mark.timeout(60)
def test_notify_bench_short_form_prints_its_figures() -> None:
    out = io.StringIO()
    report = run_bench(parse_args(["--accounts", "3", "--rate", "10", "--seconds", "3", "--orders-per-second", "2",
                                   "--warmup", "3", "--spread", "0.5", "--plain"]), out)
    text = out.getvalue()
    print(text)
    for figure in ("run A (receiver answers)", "run B (receiver hangs)", "keyword push→reply: n=", "outbox:",
                   "notifications received", "POST attempts seen", "pair 1 (A then B)",
                   "keyword p99 with a hanging receiver / with a working one: "):
        assert figure in text, text
    [pair] = report["pairs"]
    a, b = pair["a"], pair["b"]
    for run in (a, b):
        assert run["kw"] and run["kw_posted"] == 30, text
        assert run["warm"]["notified"] and run["orders"] > 0 and not run["order_errors"], text
        assert run["delivery_failed"] > 0 and sum(run["outbox"].values()) > 0, text
    assert a["received"] > 0 and a["outbox"].get("sent", 0) > 0, text
    assert b["attempts"] > 0 and b["received"] == 0 and b["outbox"].get("sent", 0) == 0, text
    assert all(math.isfinite(report[q]) and report[q] > 0 for q in ("p50", "p99")), text
    assert math.isfinite(pair["p99"]), text
