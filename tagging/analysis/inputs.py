"""What the models read of a link: the screenshot's bytes and one text, whatever the capture kept.

A failed capture still has the URL, and usually a title or description the person typed; a
page without readable text still has its screenshot and URL. Each input is optional and a
missing or unreadable screenshot never blocks the text.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import lxml.etree
import lxml.html

from snapshots.models import Link, Snapshot
from tagging.analysis.text_terms import BODY_CHARS, page_terms, page_text
from tagging.scoring.lexical import unpack_terms
from tagging.scoring.words import PageWords, url_words, words

log = logging.getLogger(__name__)

# The start of the readable text carries its subject; more costs CPU time (one 256-token chunk
# of MiniLM per ~1,000 characters, about 0.1-0.3 s each on two cores) and adds little: with the
# title and description in front, this is one chunk for most pages.
TEXT_CHARS = 1000
HTML_BYTES = 2 * 1024 * 1024  # headings are near the top; a huge page is not parsed whole
MAX_HEADINGS = 40
MAX_KEYWORDS = 30


@dataclass
class Inputs:
    text: str
    image: str | bytes | None  # a local file path, or the bytes from remote storage
    page: PageWords
    title: str
    used: list[str]
    terms: dict  # headings and meta keywords of the captured HTML, stored with the analysis
    lexical: tuple  # the page's top terms (hashed ids, counts), stored with the analysis


def inputs_of(link: Link, snapshot: Snapshot | None, with_image: bool = True, terms: dict | None = None,
              term_vector: bytes | memoryview | None = None, mentions: bool = True) -> Inputs:
    """The link's model inputs. Re-scoring passes ``with_image=False``, the stored ``terms`` and
    the stored ``term_vector`` (the page's top terms as its analysis stored them, which the
    person's library holds for the link too): it needs the words only, and reads no file.
    Without ``mentions`` (vectors stored now, scored later) ``page`` is left empty: the words a
    tag's mention is looked for in are for the scoring only."""
    done = snapshot is not None and snapshot.status == Snapshot.Status.DONE
    if terms is None:
        terms = {**html_terms(snapshot), TERMS_OF: snapshot.pk} if done else {"headings": [], "keywords": []}
    page = page_text(link, snapshot if done else None)
    title, description, url, body = page.title, page.description, page.url, page.body
    used = ["url"] + (["text"] if body.strip() else [])
    image = _screenshot(snapshot) if done and with_image else None
    if image is not None:
        used.append("image")
    body_words = words(body[:BODY_CHARS])  # split once for both
    page = page_words(title, description, url, body, terms, body_words) if mentions else PageWords()
    return Inputs(text=model_text(title, description, url, body), image=image, page=page, title=title, used=used,
                  terms=terms,
                  lexical=unpack_terms(term_vector) or page_terms(title, description, url, body, terms, body_words))


# Key of the stored terms naming the snapshot whose HTML they were read from: analysing that
# snapshot again (a re-analysis) takes them as they are instead of parsing the HTML again, which
# costs about a millisecond for a 50 KB page and more than the rest of the database stage for large ones.
TERMS_OF = "snapshot"


def stored_terms(analysis) -> dict | None:
    """The headings and keywords an analysis stored last time, if they are its current snapshot's."""
    terms = analysis.terms
    if isinstance(terms, dict) and analysis.snapshot_id is not None and terms.get(TERMS_OF) == analysis.snapshot_id:
        return terms
    return None


def model_text(title: str, description: str, url: str, body: str) -> str:
    """The one text the text model embeds: what the page says it is about, then its readable text."""
    return "\n".join(part for part in (title, description, url_words(url), body[:TEXT_CHARS]) if part.strip())


def page_words(title: str, description: str, url: str, body: str, terms: dict,
               body_words: list[str] | None = None) -> PageWords:
    if body_words is None:
        body_words = words(body[:BODY_CHARS])
    return PageWords.of_body_words(title=title, url=url, description=description, body_words=body_words,
                                   headings=terms.get("headings", []), keywords=terms.get("keywords", []))


def html_terms(snapshot: Snapshot) -> dict:
    """The h1-h3 headings and meta keywords of the captured HTML (bounded; never an error)."""
    empty = {"headings": [], "keywords": []}
    if not snapshot.html:
        return empty
    try:
        with snapshot.html.open("rb") as handle:
            raw = handle.read(HTML_BYTES)
        tree = lxml.html.fromstring(raw)
    except (OSError, ValueError, lxml.etree.ParserError) as exc:
        log.info("headings of snapshot %s unreadable: %s", snapshot.pk, exc)
        return empty
    headings = [" ".join(h.text_content().split())[:200] for h in tree.iter("h1", "h2", "h3")][:MAX_HEADINGS]
    keywords = [k.strip()[:64] for meta in tree.iter("meta") if (meta.get("name") or "").lower() == "keywords"
                for k in (meta.get("content") or "").split(",") if k.strip()][:MAX_KEYWORDS]
    return {"headings": [h for h in headings if h], "keywords": keywords}


def _screenshot(snapshot: Snapshot) -> str | bytes | None:
    """The first stored of: the model view (the model's own 224x224 pixels of the screenshot,
    cheapest to decode), the screenshot, its thumbnail (snapshots kept before either)."""
    for field in (snapshot.model_view, snapshot.screenshot, snapshot.thumbnail):
        if field and (source := _stored(snapshot, field)) is not None:
            return source
    return None


def _stored(snapshot: Snapshot, field) -> str | bytes | None:
    try:
        path = field.path  # local storage: the bulk path reads the file itself
    except NotImplementedError:
        path = None
    if path is not None:
        return path if os.path.isfile(path) else None
    try:
        with field.open("rb") as handle:
            return handle.read()
    except OSError as exc:  # a file gone from storage is no reason to lose the text path
        log.warning("%s of snapshot %s unreadable: %s", field.field.name, snapshot.pk, exc)
        return None
