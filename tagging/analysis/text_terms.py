"""The texts of a link the scorers read, and the top terms the word evidence stores: text work only.

Migration tagging/0005 fills the terms of analyses made before they were stored with these same
functions, so this module imports no models and reads no files: a historical model row from the
migration and a live one from :func:`tagging.analysis.inputs.inputs_of` go through one code path.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain

from tagging.scoring.lexical import counts_of_words
from tagging.scoring.words import url_words, words

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


def page_terms(title: str, description: str, url: str, body: str, terms: dict,
               body_words: list[str] | None = None) -> tuple:
    """The terms the page is searched by (scoring/lexical.py): all of what it says, not only its start.
    ``body_words``: ``words(body[:BODY_CHARS])`` when already split."""
    if body_words is None:
        body_words = words(body[:BODY_CHARS])
    head = (words(text) for text in (title, description, url_words(url), " ".join(terms.get("headings", []))))
    return counts_of_words(chain(chain.from_iterable(head), body_words))
