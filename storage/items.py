"""`ItemStore`: item details fetched from the platform, cached for reply templates and order texts."""

from __future__ import annotations

from storage.database import Database
from storage.models import ItemCache


class ItemStore:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._sql = db.sql

    def get(self, item_id: str) -> ItemCache | None:
        with self._db.read() as session:
            return session.get(ItemCache, item_id)

    def put(self, item_id: str, *, title: str, price: str, fetched_at_ms: int, desc: str = "",
            quantity: int | None = None) -> None:
        """Cache an item's details, replacing what was cached before."""
        params = {"item_id": item_id, "title": title, "price": price, "desc": desc, "quantity": quantity,
                  "fetched_at_ms": fetched_at_ms}
        self._db.fast.run(lambda tx: tx.run(self._sql.put_item, params))
