"""The notification errors.

    CoreError
    └── NotifyError        a channel cannot be used (no such channel for `notify test`, apprise refused its URL)
"""

from core.errors import CoreError


class NotifyError(CoreError):
    """A channel cannot be used; the message never quotes its URL."""
