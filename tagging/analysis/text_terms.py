"""The texts of a link the scorers read, and the top terms the word evidence stores: text work only.

Migration tagging/0005 fills the terms of analyses made before they were stored with these same
functions, so this module imports no models and reads no files: a historical model row from the
migration and a live one from :func:`tagging.analysis.inputs.inputs_of` go through one code path.
"""
from __future__ import annotations

from dataclasses import dataclass

from tagging.scoring.lexical import term_counts
from tagging.scoring.words import url_words

BODY_CHARS = 20_000  # text searched for tag words


@dataclass(frozen=True)
class PageText:
    title: str
    description: str
    url: str
    body: str


def page_text(link, snapshot) -> PageText:
    """What the link says of itself, the person's own words first.

    ``snapshot`` is the analysis's snapshot when its capture is done, else None (a failed capture
    still has the link's fields). Either may be a live or a historical model row: only the fields
    named here are read.
    """
    title = link.title or (snapshot.title if snapshot is not None else "")
    description = link.description or (snapshot.description if snapshot is not None else "")
    body = (snapshot.text if snapshot is not None else "") or link.page_text
    url = (snapshot.final_url if snapshot is not None and snapshot.final_url else "") or link.url
    return PageText(title=title, description=description, url=url, body=body)


def page_terms(title: str, description: str, url: str, body: str, terms: dict) -> tuple:
    """The terms the page is searched by (scoring/lexical.py): all of what it says, not only its start."""
    return term_counts(title, description, url_words(url), " ".join(terms.get("headings", [])), body[:BODY_CHARS])
