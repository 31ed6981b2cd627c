"""Bookmark files for the import tests, written the way browsers and linkding write them."""
from __future__ import annotations

import html

HEAD = """<!DOCTYPE NETSCAPE-Bookmark-file-1>
<!-- This is an automatically generated file. -->
<META HTTP-EQUIV="Content-Type" CONTENT="text/html; charset=UTF-8">
<TITLE>Bookmarks</TITLE>
<H1>Bookmarks</H1>
"""


def anchor(url: str, title: str = "", tags: str = "", add_date: int | None = 1600000000,
           description: str = "", toread: bool = False) -> str:
    attrs = f'HREF="{html.escape(url)}"'
    if add_date is not None:
        attrs += f' ADD_DATE="{add_date}"'
    if tags:
        attrs += f' TAGS="{html.escape(tags)}"'
    if toread:
        attrs += ' TOREAD="1"'
    line = f"<DT><A {attrs}>{html.escape(title)}</A>\n"
    return line + (f"<DD>{html.escape(description)}\n" if description else "")


def netscape(*entries: str) -> bytes:
    return (HEAD + "<DL><p>\n" + "".join(entries) + "</DL><p>\n").encode()


def many(count: int, host: str = "bulk.example") -> bytes:
    return netscape(*(anchor(f"https://{host}/page/{i}", f"Page {i}", tags=f"t{i % 7},common",
                             add_date=1500000000 + i) for i in range(count)))
