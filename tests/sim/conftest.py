"""Fixtures: a fresh in-process simulator per test, its control API, and a logged-in seller."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sim.server import Simulator, start
from tests.sim.simclient import Control, Im, Passport, Seller

SELLER = "2200000000001"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = start(seed=7, ackdiff_wait=1.0)
    yield simulator
    Im.close_all()
    simulator.stop()


@pytest.fixture
def control(sim: Simulator) -> Control:
    return Control(sim.urls)


@pytest.fixture
def seller(sim: Simulator) -> Seller:
    return Seller(sim.urls, SELLER)


@pytest.fixture
def passport(sim: Simulator) -> Passport:
    return Passport(sim.urls)
