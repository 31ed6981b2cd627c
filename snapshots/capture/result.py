"""What one capture produced: page facts plus the bytes of each kept asset."""
from __future__ import annotations

from dataclasses import dataclass, field

@dataclass
class CaptureResult:
    url: str
    final_url: str = ""
    http_status: int | None = None
    content_type: str = ""
    title: str = ""
    description: str = ""
    language: str = ""
    og_image_url: str = ""
    favicon_url: str = ""
    text: str = ""
    assets: dict[str, bytes] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    favicon_content_type: str = ""

    def keep(self, name: str, data: bytes | None, cap: int) -> None:
        """Keep one asset unless it is empty or over the size cap (then say so in notes)."""
        if not data:
            return
        if len(data) > cap:
            self.notes.append(f"{name} skipped: {_mb(len(data))} over the {_mb(cap)} cap")
            return
        self.assets[name] = data
        self.sizes[name] = len(data)

    def keep_views(self, views: tuple[bytes, bytes | None] | None, cap: int) -> None:
        """The thumbnail and the model view made from the screenshot (extract.screenshot_views)."""
        thumbnail, model_view = views or (None, None)
        self.keep("thumbnail", thumbnail, cap)
        self.keep("model_view", model_view, cap)


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size / 1024:.0f} KB"
