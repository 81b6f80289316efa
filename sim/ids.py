"""Identifiers that look like the platform's, from one seeded generator so a run can be reproduced (--seed).

Formats (what clients may rely on; goofish-protocol.md §2.2, §4):
- cid: 11 digits, e.g. 47812870000 (`<cid>@goofish` on the wire)
- server message id: 13 increasing digits + ".PNM", e.g. 3402391472503.PNM
- platform message id: 32 lowercase hex (bizTag/extJson messageId)
- order id: 19 digits starting "25", e.g. 2503688126356636370
- server push mid: 8 hex + " 0", e.g. "84a4001c 0"
- reg-sid: 44 hex

Not thread-safe: only used inside a state transaction (under the state lock).
"""

from __future__ import annotations

import random
import string
import uuid

ALNUM = string.ascii_letters + string.digits
BASE64URL = ALNUM + "-_"


class Ids:
    def __init__(self, seed: int | None) -> None:
        self._rng = random.Random(seed)
        self._pnm = self._rng.randint(3_400_000_000_000, 3_499_999_999_999)
        self._mid = self._rng.getrandbits(32)
        self._taken: set[str] = set()

    def hex(self, length: int) -> str:
        return f"{self._rng.getrandbits(4 * length):0{length}x}"

    def chars(self, length: int, alphabet: str = ALNUM) -> str:
        return "".join(self._rng.choice(alphabet) for _ in range(length))

    def digits(self, low: int, high: int) -> str:
        return str(self._rng.randint(low, high))

    def _unique(self, low: int, high: int) -> str:
        while True:
            value = self.digits(low, high)
            if value not in self._taken:
                self._taken.add(value)
                return value

    def cid(self) -> str:
        return self._unique(40_000_000_000, 59_999_999_999)

    def order_id(self) -> str:
        return self._unique(2_500_000_000_000_000_000, 2_599_999_999_999_999_999)

    def message_id(self) -> str:
        return self.hex(32)

    def pnm_id(self) -> str:
        # Increasing, like the platform's, so ids sort in send order.
        self._pnm += self._rng.randint(1, 97)
        return f"{self._pnm}.PNM"

    def server_mid(self) -> str:
        # A counter under a random base: unique among a connection's outstanding pushes.
        self._mid = (self._mid + 1) & 0xFFFFFFFF
        return f"{self._mid:08x} 0"

    def fingerprint(self) -> int:
        return self._rng.randint(-(2**31), 2**31 - 1)

    def opaque(self, length: int) -> str:
        return self.chars(length, BASE64URL)

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
