"""Stock lists on the command line: `python xianyu.py stock import NAME FILE`, `stock count [NAME]`, `stock list`.

A stock list is a named pool of codes in the database (storage/orders.py); a `stock:` delivery rule takes one
code per unit from it. Importing reads one code per line (blank lines and surrounding spaces ignored) and
never adds a code twice, neither from the same file nor one the list already has: both count as duplicates.
The codes themselves are never printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.clock import now_ms
from core.config import Config, name_problem
from core.errors import StockError
from core.orders.delivery import mask_code
from storage import Store


@dataclass(frozen=True)
class Imported:
    added: int
    duplicates: int
    available: int


def read_codes(path: Path) -> list[str]:
    """The file's codes, one per line, in file order (duplicates kept: the import counts them)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise StockError(f"cannot read {path}: {reason}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]


def check_name(name: str) -> str:
    problem = name_problem(name, "a stock list name")
    if problem:
        raise StockError(problem)
    return name


def import_codes(store: Store, name: str, path: Path, low_threshold: int) -> Imported:
    codes = read_codes(path) if check_name(name) else []
    unique = list(dict.fromkeys(codes))
    added, _ = store.stock.import_codes(name, unique, now_ms())
    available = store.stock.available(name)
    # Refilled above the threshold: the next fall below it is a new crossing, worth a new event.
    store.stock.set_low(name, low_threshold > 0 and available <= low_threshold)
    return Imported(added, len(codes) - added, available)


def low_threshold(config: Config | None, name: str) -> int:
    """The list's low-stock threshold: the highest any rule using it sets (0 when no rule uses it)."""
    if config is None:
        return 0
    return max((rule.low_stock for account in config.accounts for rule in account.delivery
                if rule.kind == "stock" and rule.source == name), default=0)


def count_lines(store: Store, name: str | None) -> list[str]:
    """`stock count`: one line per list, "NAME: N left (R reserved, S sent)"."""
    counts = store.stock.counts(check_name(name) if name else None)
    if name and name not in counts:
        return [f"{name}: 0 left (no such list yet)"]
    return [f"{list_name}: {c['available']} left ({c['reserved']} reserved, {c['sent']} sent)"
            for list_name, c in sorted(counts.items())] or [
        "no stock lists yet: python xianyu.py stock import NAME FILE"]


def code_lines(store: Store, name: str) -> list[str]:
    """`stock list NAME`: each code masked, its state, and the order holding it."""
    lines = []
    for code in store.stock.codes(check_name(name)):
        holder = f"  order {code.order_id} unit {code.unit}" if code.order_id else ""
        lines.append(f"{mask_code(code.code)}  {code.state}{holder}")
    return lines or [f"{name}: no codes"]
