"""The AI package's errors.

    ModelFailed            the endpoint could not give an answer: timeout, HTTP error, refused key, empty
                           answer (its message is safe to log: the key is masked)
    SuggestionRefused      a suggested draft cannot be sent (gone, handled already, or fails the checks)
"""


class ModelFailed(Exception):
    """One model call failed; ``reason`` says why in a line a seller can read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class SuggestionRefused(Exception):
    """A suggested draft could not be sent: gone, already handled, or its (edited) text fails the checks. The
    message is safe to show."""
