"""The AI-replies bench, short: 10 accounts, a 200 ms fake model, 3 s of load per run. Asserts that the script runs
both runs and prints its figures and checks, and that every message got its rule's answer; the latency targets are
the long form's (`python bench/ai_replies.py`), not asserted here (this machine is shared and noisy)."""

from __future__ import annotations

import io

import pytest

from bench.ai_replies import parse_args, run_bench


@pytest.mark.timeout(60)
def test_ai_bench_short_form_prints_its_figures() -> None:
    out = io.StringIO()
    report = run_bench(parse_args(["--accounts", "10", "--rate", "10", "--ai-share", "0.2", "--seconds", "3",
                                   "--latency-ms", "200", "--concurrency", "4", "--warmup", "4", "--spread", "1",
                                   "--plain"]), out)
    text = out.getvalue()
    print(text)
    for figure in ("run A (AI off)", "run B (AI on)", "keyword push→reply: n=30", "AI push→reply:      n=6",
                   "AI overhead", "model requests: 6 (6 answered 200)", "peak slow-rule", "keyword p99 B/A",
                   "AI p99 − model latency"):
        assert figure in text, text
    assert len(report["checks"]) == 4 and text.count("PASS") + text.count("FAIL") == 4, text
    a, b = report["a"], report["b"]
    assert len(a["kw"]) == a["kw_posted"] == 30 and len(b["kw"]) == b["kw_posted"] == 30, text
    assert len(b["ai"]) == b["ai_posted"] == 6 and b["ai_fallback"] == 0, text
    assert 0 < b["peak_slow"] <= 4, text
    assert min(b["ai"]) >= 200, text
