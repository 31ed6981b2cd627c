"""Readable text (trafilatura's plain text) as HTML: paragraphs, Markdown tables as tables, long text collapsed.

trafilatura writes the tables it keeps as Markdown ("| a | b |" and a "|---|" rule); shown as
text they are a wall of pipes. A Wikipedia article's text is also tens of thousands of
characters: the first part is shown, the rest behind a disclosure.
"""
from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

COLLAPSE_AFTER_CHARS = 3000
_RULE = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?$")


def _is_table_line(line: str) -> bool:
    stripped = line.strip()
    return stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip()[1:-1].split("|")]


def _table(lines: list[str]) -> str:
    rows = [line for line in lines if not _RULE.match(line.strip())]
    has_header = len(lines) > 1 and bool(_RULE.match(lines[1].strip()))
    html = ["<div class=\"table-scroll\"><table class=\"readable-table\">"]
    for index, line in enumerate(rows):
        tag = "th" if has_header and index == 0 else "td"
        html.append("<tr>" + "".join(f"<{tag}>{escape(cell)}</{tag}>" for cell in _cells(line)) + "</tr>")
    html.append("</table></div>")
    return "".join(html)


def _blocks(text: str) -> list[tuple[str, int]]:
    """(html, visible characters) for each paragraph or table, in order."""
    blocks: list[tuple[str, int]] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        if _is_table_line(lines[index]):
            start = index
            while index < len(lines) and _is_table_line(lines[index]):
                index += 1
            table = lines[start:index]
            blocks.append((_table(table), sum(len(line) for line in table)))
            continue
        if lines[index].strip():
            blocks.append((f"<p>{escape(lines[index].strip())}</p>", len(lines[index])))
        index += 1
    return blocks


def readable_html(text: str, collapse_after: int = COLLAPSE_AFTER_CHARS) -> SafeString:
    """The text as escaped HTML; past ``collapse_after`` characters the rest is folded away."""
    shown, rest, seen = [], [], 0
    for html, size in _blocks(text or ""):
        (shown if seen < collapse_after else rest).append(html)
        seen += size
    if rest:
        words = len(text.split())
        shown.append(f"<details class=\"readable-more\"><summary>Show all of the text ({words:,} words)</summary>"
                     + "".join(rest) + "</details>")
    return mark_safe("".join(shown))  # every piece of the text went through escape()
