"""Captured HTML made safe to look at: nothing in it may make the viewer's browser call out.

The Content-Security-Policy of replay/views.py blocks every fetch, but Chromium still opens a TCP
connection for an <iframe> (and the other embedding elements) before the policy refuses it, which
tells the captured site that, and from where, its snapshot is being viewed. So frames lose their
source here, and <base> and meta refresh go too (the policy already ignores them; this keeps older
browsers honest as well). Everything else is left as it was captured.
"""
from __future__ import annotations

import logging

from lxml import etree
from lxml import html as lxml_html

log = logging.getLogger(__name__)

EMBEDDING_TAGS = ("iframe", "frame", "object", "embed", "portal", "fencedframe", "applet")
SOURCE_ATTRIBUTES = ("src", "srcdoc", "data", "code", "codebase", "archive")
UNREADABLE = b"<!doctype html><meta charset=utf-8><p>This snapshot's HTML could not be read.</p>"


def neutralised(data: bytes) -> bytes:
    """The captured HTML (UTF-8, as the capture stores it) with frames emptied, no <base>, no refresh."""
    try:
        document = lxml_html.document_fromstring(data.decode("utf-8", "replace"))
    except (etree.ParserError, ValueError):
        log.warning("captured HTML could not be parsed for replay")
        return UNREADABLE
    for element in document.iter(*EMBEDDING_TAGS):
        for attribute in SOURCE_ATTRIBUTES:
            element.attrib.pop(attribute, None)
    for element in document.iter("base"):
        element.drop_tree()
    for element in document.iter("meta"):
        if element.get("http-equiv", "").strip().lower() == "refresh":
            element.drop_tree()
    return b"<!doctype html>\n" + lxml_html.tostring(document, encoding="utf-8")
