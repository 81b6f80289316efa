"""`AiStore` on SQLite and PostgreSQL: bargaining per buyer and item, drafts and their fate, usage per day, flags."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from storage import BargainRecord, Store, UsageRow


def test_bargaining_is_one_row_per_buyer_and_item(store: Store) -> None:
    store.ai.save_bargain(BargainRecord(account_id="a", buyer_id="b", item_id="i", rounds=1,
                                        lowest_counter="90.00", updated_at_ms=1))
    store.ai.save_bargain(BargainRecord(account_id="a", buyer_id="b", item_id="i", rounds=2, lowest_counter="85.00",
                                        best_offer="80.00", agreed="85.00", agreed_until_ms=100, updated_at_ms=2))
    row = store.ai.bargain("a", "b", "i")
    assert row is not None and (row.rounds, row.lowest_counter, row.best_offer) == (2, "85.00", "80.00")
    assert store.ai.agreed_prices("a", "b", 50) == {"i": "85.00"}
    assert store.ai.agreed_prices("a", "b", 100) == {}  # remembered until then, not after


def test_drafts_move_once_and_one_waits_per_chat(store: Store) -> None:
    first = store.ai.add_draft(account_id="a", cid="c", draft="d1", text="t1", status="suggested", created_at_ms=1,
                               updated_at_ms=1)
    second = store.ai.add_draft(usage=UsageRow("a", "2026-12-07", 10, 5, False), account_id="a", cid="c",
                                draft="d2", text="t2", status="suggested", created_at_ms=2, updated_at_ms=2)
    assert store.ai.replace_drafts("a", "c", "suggested", second, "replaced", 3) == 1
    assert [d.id for d in store.ai.drafts("suggested")] == [second]
    assert store.ai.set_draft(second, "approved", 4, from_status="suggested", text="edited")
    assert not store.ai.set_draft(second, "approved", 5, from_status="suggested")  # a second press: nothing
    draft = store.ai.draft(second)
    assert draft is not None and draft.text == "edited" and draft.draft == "d2"
    assert store.ai.draft(first).status == "replaced"  # type: ignore[union-attr]


def test_usage_adds_up_from_many_threads(store: Store) -> None:
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: store.ai.add_usage(UsageRow("a", "2026-12-07", 3, 2, k % 5 == 0)), range(40)))
    [day] = store.ai.usage("a")
    assert (day.calls, day.failures, day.prompt_tokens, day.completion_tokens) == (40, 8, 120, 80)


def test_flags(store: Store) -> None:
    store.ai.flag("a", "c", "the buyer asked for a person", 1)
    store.ai.flag("a", "c", "again", 2)
    flag = store.ai.flag_of("a", "c")
    assert flag is not None and (flag.reason, flag.at_ms) == ("again", 2)
    assert store.ai.unflag("a", "c") and store.ai.flags() == []
