"""The concession policy: the schedule, and decide's accept / counter / final paths."""

from __future__ import annotations

from decimal import Decimal

import pytest

from core.bargain.policy import BargainPolicy, BargainState, Floor, concession_schedule, decide

LIST = Decimal(100)
POLICY = BargainPolicy(Floor(yuan=Decimal(80)))


def test_floor_of() -> None:
    assert Floor(yuan=Decimal(80)).of(LIST) == Decimal("80.00")
    assert Floor(yuan=Decimal(120)).of(LIST) == LIST  # never above the list price
    assert Floor(share=Decimal("0.85")).of(Decimal("99.99")) == Decimal("85.00")  # 84.9915 rounds up
    assert Floor(yuan=Decimal(80), share=Decimal("0.9")).of(LIST) == Decimal(90)  # the higher one
    assert Floor().of(LIST) == LIST  # nothing set: no concessions


@pytest.mark.parametrize(
    ("text", "floor"),
    [("80", Floor(yuan=Decimal(80))), ("80.5", Floor(yuan=Decimal("80.5"))), ("85%", Floor(share=Decimal("0.85"))),
     (" 80元 ", Floor(yuan=Decimal(80))), ("８５％", Floor(share=Decimal("0.85"))), ("100%", Floor(share=Decimal(1)))],
)
def test_floor_parse(text: str, floor: Floor) -> None:
    assert Floor.parse(text) == floor


@pytest.mark.parametrize("text", ["", "-5", "120%", "abc", "NaN", "80 90"])
def test_floor_parse_refuses(text: str) -> None:
    with pytest.raises(ValueError, match="floor"):
        Floor.parse(text)


@pytest.mark.parametrize(
    "kwargs",
    [{"max_rounds": 0}, {"schedule": (Decimal("0.5"),)}, {"schedule": (Decimal("0.6"), Decimal("0.5"), Decimal(1))},
     {"schedule": (Decimal(0), Decimal("0.5"), Decimal(2))}, {"round_to": Decimal(0)}, {"agreed_hours": 0}],
)
def test_policy_refuses_bad_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        BargainPolicy(Floor(yuan=Decimal(80)), **kwargs)


@pytest.mark.parametrize(
    "policy",
    [
        POLICY,
        BargainPolicy(Floor(share=Decimal("0.7")), max_rounds=5),
        BargainPolicy(Floor(yuan=Decimal("83.3")), schedule=(Decimal("0.5"), Decimal("0.8"), Decimal(1))),
        BargainPolicy(Floor(yuan=Decimal(81)), round_to=Decimal(5)),
    ],
)
def test_schedule_is_non_increasing_and_never_below_the_floor(policy: BargainPolicy) -> None:
    steps = concession_schedule(policy, LIST)
    assert len(steps) == policy.max_rounds
    assert list(steps) == sorted(steps, reverse=True)
    assert all(policy.floor.of(LIST) <= step <= LIST for step in steps)


def test_default_schedule_is_even_and_rounded_up() -> None:
    assert concession_schedule(POLICY, LIST) == (Decimal(94), Decimal(87), Decimal(80))
    assert concession_schedule(BargainPolicy(Floor(yuan=Decimal(81)), round_to=Decimal(5)), LIST) == (
        Decimal(95), Decimal(90), Decimal(85))


def test_no_bargain_is_nothing_to_decide() -> None:
    state = BargainState(rounds=1, lowest_counter=Decimal(94))
    decision, after = decide(POLICY, LIST, state, None, False)
    assert (decision.action, decision.price, after) == ("none", None, state)


def test_counter_then_final() -> None:
    state = BargainState()
    seen = []
    for _ in range(POLICY.max_rounds + 2):
        decision, state = decide(POLICY, LIST, state, None, True)
        seen.append((decision.action, decision.price, decision.round))
    assert seen == [
        ("counter", 94, 1), ("counter", 87, 2), ("counter", 80, 3), ("final", 80, 3), ("final", 80, 3)]
    assert state.rounds == POLICY.max_rounds


def test_repeated_asking_never_goes_below_the_floor() -> None:
    policy = BargainPolicy(Floor(share=Decimal("0.83")), max_rounds=4, round_to=Decimal("0.5"))
    state, prices = BargainState(), []
    for _ in range(policy.max_rounds + 2):
        decision, state = decide(policy, LIST, state, None, True)
        prices.append(decision.price)
    assert min(prices) >= policy.floor.of(LIST)
    assert prices == sorted(prices, reverse=True)
    assert state.rounds == policy.max_rounds


def test_offer_at_or_above_the_counter_is_accepted() -> None:
    decision, state = decide(POLICY, LIST, BargainState(), Decimal(95), True)
    assert (decision.action, decision.price, state.agreed) == ("accept", 95, 95)


def test_offer_above_the_list_price_is_accepted_at_the_list_price() -> None:
    decision, state = decide(POLICY, LIST, BargainState(), Decimal(120), True)
    assert (decision.action, decision.price, state.agreed) == ("accept", LIST, LIST)


def test_low_offer_gets_a_counter_and_is_remembered() -> None:
    decision, state = decide(POLICY, LIST, BargainState(), Decimal(70), True)
    assert (decision.action, decision.price, state.rounds, state.best_offer) == ("counter", 94, 1, 70)


def test_offer_below_the_floor_is_never_accepted() -> None:
    state = BargainState()
    for _ in range(POLICY.max_rounds + 3):
        decision, state = decide(POLICY, LIST, state, Decimal(79), True)
        assert decision.action != "accept"
        assert decision.price >= 80
    assert state.agreed is None


def test_counter_never_backs_up() -> None:
    state = BargainState(rounds=1, lowest_counter=Decimal(85))  # e.g. quoted under an older, looser policy
    decision, state = decide(POLICY, LIST, state, None, True)
    assert (decision.action, decision.price, state.lowest_counter) == ("counter", 85, 85)


def test_a_counter_at_or_below_the_best_offer_accepts_the_best_offer() -> None:
    state = BargainState(rounds=1, lowest_counter=Decimal(94), best_offer=Decimal(88))
    decision, state = decide(POLICY, LIST, state, Decimal(75), True)  # we would concede to 87 < 88
    assert (decision.action, decision.price, state.agreed) == ("accept", 88, 88)


def test_final_round_accepts_an_offer_at_the_final_price() -> None:
    state = BargainState(rounds=3, lowest_counter=Decimal(80))
    assert decide(POLICY, LIST, state, Decimal(80), True)[0].action == "accept"
    assert decide(POLICY, LIST, state, Decimal("79.99"), True)[0].action == "final"


@pytest.mark.parametrize("floor", [Floor(share=Decimal(1)), Floor(yuan=LIST), Floor()])
def test_no_concessions_means_final_at_the_list_price(floor: Floor) -> None:
    policy, state = BargainPolicy(floor), BargainState()
    for offer in (None, Decimal(90), None, Decimal("99.99")):
        decision, state = decide(policy, LIST, state, offer, True)
        assert (decision.action, decision.price) == ("final", LIST)
    assert state.rounds == 0
    assert decide(policy, LIST, state, LIST, True)[0].action == "accept"


def test_an_agreed_price_stands() -> None:
    state = BargainState(rounds=2, lowest_counter=Decimal(87), agreed=Decimal(90))
    assert decide(POLICY, LIST, state, None, True)[0] == decide(POLICY, LIST, state, Decimal(50), True)[0]
    assert decide(POLICY, LIST, state, None, True)[0].price == 90
    assert decide(POLICY, LIST, state, Decimal(90), True)[0].action == "accept"


def test_decide_is_deterministic() -> None:
    state = BargainState(rounds=1, lowest_counter=Decimal(94), best_offer=Decimal(70))
    assert decide(POLICY, LIST, state, Decimal(72), True) == decide(POLICY, LIST, state, Decimal(72), True)
