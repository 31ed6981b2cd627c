"""Why a capture failed, sorted by what the job runner should do about it."""


class CaptureError(Exception):
    """Base class; the message is shown to the person as the snapshot's error.

    ``kept`` is what was captured before the failure worth keeping (an HTTP 404 page's screenshot).
    """

    kept = None


class CaptureRefused(CaptureError):
    """The URL, a redirect hop or the scheme is not allowed (SSRF guard). Never retried."""


class CapturePermanentError(CaptureError):
    """Retrying will not help: a 4xx answer, an unknown host, content we cannot keep."""


class CaptureTransientError(CaptureError):
    """Worth retrying later: timeouts, 5xx answers, a crashed or disconnected browser."""
