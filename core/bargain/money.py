"""Money as ``Decimal`` yuan to the fen (0.01), and how a price is written in a reply."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

FEN = Decimal("0.01")


def to_money(value: Decimal | int | str, rounding: str = ROUND_HALF_UP) -> Decimal:
    """``value`` quantized to 0.01; callers that must not round a price up past a limit pass ROUND_FLOOR or
    ROUND_CEILING."""
    return Decimal(value).quantize(FEN, rounding=rounding)


def format_price(value: Decimal) -> str:
    """"80", "79.5", "9.99": the way a seller writes a price, without a trailing ".00" or ".x0"."""
    text = f"{to_money(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
