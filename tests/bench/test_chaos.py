"""The chaos soak, short (issue 12 §2): 10 accounts on `sim --tls`, buyers and paid orders, a random fault of every
kind each second, the service SIGKILLed once or twice; then, from the simulator's records, every eligible message
answered exactly once, every paid unit delivered exactly once, every account online again.
The long forms are `python bench/chaos.py --minutes 30` and `--minutes 60 --no-faults`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.chaos import run_chaos, table

SEED = 20261205


@pytest.mark.timeout(300)
def test_chaos_short_form_keeps_exactly_once_and_brings_every_account_back(tmp_path: Path) -> None:
    report = run_chaos(tmp_path, accounts=10, minutes=0.75, seed=SEED, kills_every=30, fault_every=1.0, rate=2.0,
                       orders_every=3.0, settle_timeout=60)
    print(table(report))  # the seed is its first line: `python bench/chaos.py --seed N ...` reproduces it
    summary = json.dumps({k: report[k] for k in ("seed", "checks", "failures", "recovery")}, ensure_ascii=False)
    assert report["kills"] >= 1 and report["starts"] == report["kills"] + 1, summary
    assert report["faults"] >= 20, summary
    checks = report["checks"]
    assert checks["lost"] == checks["doubled"] == checks["wrong_chat"] == checks["unmatched_answered"] == 0, summary
    assert checks["missing_units"] == checks["repeated_units"] == checks["codes_in_two_units"] == 0, summary
    assert checks["not_shipped"] == 0, summary
    assert checks["offline"] == 0, summary
    assert report["ok"], summary
