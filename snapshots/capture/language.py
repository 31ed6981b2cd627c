"""The language of a page's text when the page does not declare it (py3langid, a maintained langid.py)."""
from __future__ import annotations

import threading

from py3langid.langid import MODEL_FILE, LanguageIdentifier

MIN_CHARS = 40  # below this a guess is noise
MIN_PROBABILITY = 0.9
SAMPLE_CHARS = 5000  # enough for a sure answer; classify time grows with length

_identifier: LanguageIdentifier | None = None
_lock = threading.Lock()


def _get_identifier() -> LanguageIdentifier:
    """Loaded once per process on first use (about 2 s), never at import: workers fork first."""
    global _identifier
    with _lock:
        if _identifier is None:
            _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
        return _identifier


def detect_language(text: str) -> str:
    """ISO 639-1 code of the text's language, or "" when the text is too short or the guess unsure."""
    sample = text.strip()[:SAMPLE_CHARS]
    if len(sample) < MIN_CHARS:
        return ""
    language, probability = _get_identifier().classify(sample)
    return language if probability >= MIN_PROBABILITY else ""
