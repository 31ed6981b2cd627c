"""bench/RESULTS.md: each benchmark replaces its own "## ..." section and leaves the others alone."""
from __future__ import annotations

from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def replace_section(heading: str, body: list[str], path: Path = RESULTS) -> None:
    """Write ``## heading`` followed by ``body`` in place of that section (appended when missing)."""
    lines = (path.read_text() if path.exists() else "# Benchmark results\n").splitlines()
    title = f"## {heading}"
    start = next((i for i, line in enumerate(lines) if line.strip() == title), None)
    section = [title, "", *body]
    if start is None:
        lines = [*lines, "", *section]
    else:
        end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
        lines = [*lines[:start], *section, "", *lines[end:]]
    path.write_text("\n".join(lines).rstrip("\n") + "\n")
