"""Links with finished snapshots for the suggestion tests (no browser: the rows a capture leaves)."""
from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw

from snapshots.models import Link, Snapshot
from tagging.analysis import jobs as analysis_jobs
from tagging.services import get_or_create_tags


def screenshot_png(colour=(240, 240, 240), stripe=(20, 60, 160)) -> bytes:
    """A 1280x800 page-like picture: light background, a coloured header, grey text lines."""
    image = Image.new("RGB", (1280, 800), colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1280, 90), fill=stripe)
    for y in range(140, 760, 28):
        draw.rectangle((80, y, 1100 - (y * 7) % 300, y + 10), fill=(90, 90, 90))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def captured_link(user, url: str, title: str, text: str, tags: list[str] = (), screenshot: bytes | None = None,
                  queue: bool = True) -> Link:
    """A link whose capture finished, as capture_runner leaves it, with its analysis queued."""
    link = Link.objects.create(user=user, url=url, title=title, page_text=text)
    if tags:
        link.tags.set(get_or_create_tags(user, list(tags)))
    snapshot = Snapshot.objects.create(link=link, status=Snapshot.Status.DONE, title=title, text=text,
                                       finished_at=timezone.now())
    if screenshot is not None:
        snapshot.screenshot.save("screenshot.png", ContentFile(screenshot), save=True)
    if queue:
        analysis_jobs.queue_analysis(link, snapshot)
    return link
