import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from core.replies.dispatch import ChatDispatcher
from core.replies.timers import Timers


def test_work_of_one_chat_runs_in_order_while_chats_run_in_parallel():
    pool = ThreadPoolExecutor(8)
    dispatcher = ChatDispatcher(pool, in_flight=16)
    seen: dict[str, list[int]] = {f"chat{i}": [] for i in range(10)}
    done = threading.Barrier(2)
    total = 10 * 50
    counter = {"n": 0}
    lock = threading.Lock()

    def work(chat: str, n: int):
        def run():
            time.sleep(random.random() / 5000)
            seen[chat].append(n)
            with lock:
                counter["n"] += 1
                if counter["n"] == total:
                    done.wait()
        return run

    for n in range(50):
        for chat in seen:
            dispatcher.submit(chat, work(chat, n))
    done.wait(timeout=10)
    assert all(order == list(range(50)) for order in seen.values())
    pool.shutdown()


def test_semaphore_bounds_work_in_flight_and_blocks_the_producer():
    pool = ThreadPoolExecutor(4)
    dispatcher = ChatDispatcher(pool, in_flight=3)
    release = threading.Event()
    started = []

    def slow(i):
        def run():
            started.append(i)
            release.wait(5)
        return run

    for i in range(3):
        dispatcher.submit(f"k{i}", slow(i))
    producer_done = threading.Event()

    def produce_fourth():
        dispatcher.submit("k3", slow(3))
        producer_done.set()

    threading.Thread(target=produce_fourth, daemon=True).start()
    assert not producer_done.wait(0.3), "a fourth submit must wait for a free slot"
    release.set()
    assert producer_done.wait(5)
    pool.shutdown(wait=True)
    assert sorted(started) == [0, 1, 2, 3]


def test_a_failing_handler_releases_its_slot():
    pool = ThreadPoolExecutor(2)
    dispatcher = ChatDispatcher(pool, in_flight=1)
    ran = threading.Event()

    def boom():
        raise RuntimeError("handler bug")

    dispatcher.submit("a", boom)
    dispatcher.submit("a", ran.set)  # would block forever if the failing work kept the slot
    assert ran.wait(5)
    pool.shutdown()


def test_timers_fires_once_with_the_newest_callback():
    debouncer = Timers()
    fired = []
    event = threading.Event()
    for i in range(5):
        debouncer.schedule("chat", 0.2, lambda i=i: (fired.append(i), event.set()))
        time.sleep(0.02)
    debouncer.schedule("other", 0.05, lambda: fired.append("other"))
    assert event.wait(3)
    time.sleep(0.3)
    assert fired == ["other", 4]
    assert debouncer.pending() == 0
    debouncer.stop()


def test_timers_stop_drops_pending_work():
    debouncer = Timers()
    fired = []
    debouncer.schedule("x", 0.2, lambda: fired.append(1))
    debouncer.stop()
    time.sleep(0.3)
    assert fired == []


def test_wait_idle_reports_what_is_still_queued_and_returns_once_drained() -> None:
    release = threading.Event()
    done: list[int] = []
    with ThreadPoolExecutor(1) as pool:
        dispatcher = ChatDispatcher(pool, 10)
        dispatcher.submit("chat", lambda: release.wait(5))
        dispatcher.submit("chat", lambda: done.append(1))
        assert dispatcher.wait_idle(0.05) == 1  # the first runs, the second waits behind it
        release.set()
        assert dispatcher.wait_idle(5) == 0
        assert done == [1]


def test_a_parked_chat_keeps_its_later_work_in_order_without_a_handler_until_resumed():
    pool = ThreadPoolExecutor(2)
    dispatcher = ChatDispatcher(pool, in_flight=8)
    ran: list[str] = []

    def first():
        ran.append("first")
        dispatcher.park("c1")

    dispatcher.submit("c1", first)
    for n in range(3):
        dispatcher.submit("c1", lambda n=n: ran.append(f"later{n}"))
    dispatcher.submit("c2", lambda: ran.append("other chat"))
    deadline = time.monotonic() + 5
    while "other chat" not in ran and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)
    assert ran == ["first", "other chat"] and not dispatcher.idle("c1")  # parked: waits, but holds no worker
    assert dispatcher.wait_idle(0.05) == 3
    dispatcher.resume("c1")
    assert dispatcher.wait_idle(5) == 0
    assert ran == ["first", "other chat", "later0", "later1", "later2"]
    pool.shutdown()


def test_a_resume_that_comes_before_the_parking_work_returned_keeps_one_worker_on_the_chat():
    """A slow rule that answers at once resumes its chat while the work that parked it is still running."""
    pool = ThreadPoolExecutor(4)
    dispatcher = ChatDispatcher(pool, in_flight=64)
    ran: list[int] = []
    running = threading.Semaphore(1)

    def work(n: int):
        def run():
            assert running.acquire(blocking=False), "two workers on one chat"
            try:
                if n % 3 == 0:
                    dispatcher.park("c1")
                    threading.Thread(target=dispatcher.resume, args=("c1",)).start()
                    time.sleep(0.002)
                ran.append(n)
            finally:
                running.release()
        return run

    for n in range(60):
        dispatcher.submit("c1", work(n))
    assert dispatcher.wait_idle(10) == 0
    assert ran == list(range(60))
    pool.shutdown()
