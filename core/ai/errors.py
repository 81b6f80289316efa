"""The AI package's errors.

    ModelFailed            the endpoint could not give an answer: timeout, HTTP error, refused key, empty
                           answer (its message is safe to log: the key is masked)
"""


class ModelFailed(Exception):
    """One model call failed; ``reason`` says why in a line a seller can read."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
