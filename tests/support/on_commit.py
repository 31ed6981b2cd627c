"""Helpers for tests that look at what a request left to run after its transaction commits."""


def capture_sends(callbacks: list) -> list:
    """The on-commit callbacks that send a capture message (others, such as cache upkeep, left out)."""
    return [callback for callback in callbacks if "send_capture_on_commit" in callback.__qualname__]
