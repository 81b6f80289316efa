"""EchoBook: our recent replies recognised in memory, with the same window as the stored lookup."""

from __future__ import annotations

from core.replies.takeover import ECHO_KEEP_MS, ECHO_WINDOW_MS, EchoBook

T0 = 1_700_000_000_000


def test_an_echo_is_ours_within_the_window_only() -> None:
    book = EchoBook()
    book.expect("shop-a", "c1", "在的", T0)
    assert book.ours("shop-a", "c1", "在的", T0 + 500)
    assert book.ours("shop-a", "c1", "在的", T0 + ECHO_WINDOW_MS)
    assert not book.ours("shop-a", "c1", "在的", T0 + ECHO_WINDOW_MS + 1)
    assert not book.ours("shop-a", "c2", "在的", T0 + 500)  # another chat
    assert not book.ours("shop-b", "c1", "在的", T0 + 500)  # another account
    assert not book.ours("shop-a", "c1", "在的呢", T0 + 500)  # other words: the seller typed them


def test_a_failed_reply_is_forgotten_and_the_oldest_entries_make_room() -> None:
    book = EchoBook(keep=2)
    book.expect("shop-a", "c1", "一", T0)
    book.forget("shop-a", "c1", "一")
    assert not book.ours("shop-a", "c1", "一", T0)
    for n, text in enumerate(["二", "三", "四"]):
        book.expect("shop-a", "c1", text, T0 + n)
    assert [book.ours("shop-a", "c1", t, T0) for t in ["二", "三", "四"]] == [False, True, True]


def test_entries_past_any_echos_reach_are_dropped_so_the_book_holds_minutes_not_hours() -> None:
    book = EchoBook()
    for n in range(5000):  # a busy shop: a reply every 100 ms for over eight minutes
        book.expect("shop-a", f"c{n}", "在的", T0 + n * 100)
    newest = T0 + 4999 * 100
    assert len(book) == ECHO_KEEP_MS // 100 + 1
    assert book.ours("shop-a", "c4999", "在的", newest)
    oldest_kept = 4999 - ECHO_KEEP_MS // 100
    assert book.ours("shop-a", f"c{oldest_kept}", "在的", T0 + oldest_kept * 100)  # kept: an echo may still come
    assert not book.ours("shop-a", "c0", "在的", T0)  # dropped; the database answers for it now
