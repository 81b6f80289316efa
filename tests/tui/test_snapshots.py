"""Snapshot tests (pytest-textual-snapshot, textual pinned): the main screens at 80×24, 120×40 and 160×48, fixed
data and a frozen clock (tests/tui/fixed.py). ``pytest --snapshot-update`` re-records after a deliberate
change; look at the SVGs in __snapshots__ before committing them."""

from __future__ import annotations

import time

import pytest

from tests.tui.fixed import fixed_app

SIZES = [(80, 24), (120, 40), (160, 48)]


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Times on screen are local: pin the zone so the pictures do not depend on the machine."""
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    pilot.app.redraw()
    await pilot.pause()


def keys_then_settle(*keys: str):
    async def run(pilot) -> None:
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)
    return run


SCREENS = {  # the keys that lead from the home screen to each main screen
    "accounts": (),
    "inbox": ("2",),
    "detail": ("d",),
    "detail-ai": ("d", "end"),  # scrolled down: the AI settings (key never shown) and the usage per day
    "chat": ("2", "up", "up", "up", "up", "enter"),
    "chat-draft": ("2", "up", "up", "up", "enter"),  # an AI draft waiting: its text, the decision, the keys
    "chat-edit": ("2", "up", "up", "up", "enter", "e"),  # the draft in the edit line
    "chat-needs-you": ("2", "enter"),  # the buyer asked for a person
    "verification": ("3",),
    "orders": ("4",),
    "log": ("5",),
    "notifications": ("6",),
    "notification": ("6", "down", "down", "enter"),  # one message in full: the pending one, its error
}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("screen", SCREENS)
def test_screen(snap_compare, tmp_path, screen: str, size: tuple[int, int]) -> None:
    assert snap_compare(fixed_app(tmp_path), terminal_size=size, run_before=keys_then_settle(*SCREENS[screen]))
