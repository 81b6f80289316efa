"""The TUI tests reuse the service end-to-end fixtures: a real simulator over real sockets, real SQLite."""

from tests.service.conftest import env, make_env  # noqa: F401 - fixtures, re-exported for this directory
