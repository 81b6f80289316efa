"""The service fixtures (a simulator, accounts.yml, Services) for the notification tests."""

from tests.service.conftest import env  # noqa: F401 - a fixture these tests use
