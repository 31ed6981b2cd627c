"""Stand-ins for what the capture worker writes, done from the test thread."""
from __future__ import annotations

import io
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image, ImageDraw

from snapshots.models import Snapshot


def png(width: int, height: int, colour: tuple[int, int, int] = (53, 89, 224)) -> bytes:
    image = Image.new("RGB", (width, height), (250, 250, 252))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, height // 8), fill=colour)
    for row in range(4):
        top = height // 4 + row * height // 8
        draw.rectangle((width // 10, top, width * 8 // 10, top + height // 24), fill=(200, 204, 212))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def finish_capture(snapshot: Snapshot, text: str = "", title: str = "Title from the page") -> None:
    snapshot.status = Snapshot.Status.DONE
    snapshot.text = text
    snapshot.http_status = 200
    snapshot.started_at = timezone.now()
    snapshot.finished_at = snapshot.started_at + timedelta(seconds=2.4)
    snapshot.thumbnail.save("thumbnail.png", ContentFile(png(240, 150)), save=False)
    snapshot.screenshot.save("screenshot.png", ContentFile(png(1280, 800)), save=False)
    snapshot.save()
    link = snapshot.link
    link.title = title
    link.save(update_fields=["title"])
