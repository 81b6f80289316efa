"""The TUI tests reuse the service end-to-end fixtures: a real simulator over real sockets, real SQLite."""

from tests.service.conftest import env  # noqa: F401 - a fixture, re-exported for this directory
