"""The service's one clock: epoch milliseconds, as every `*_at_ms` column and event carries them.

Storage never reads a clock; it is handed these values. Durations and deadlines inside one process use
`time.monotonic()` instead (they must not jump with the wall clock).
"""

from core.goofish.ids import now_ms

__all__ = ["now_ms"]
