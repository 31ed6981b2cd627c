"""linkding's write semantics on top of Linkshot's link services."""
from __future__ import annotations

from django.core.exceptions import ValidationError

from snapshots.links import services
from snapshots.links.url_rules import normalize_url
from snapshots.models import Link
from tagging.suggestions.service import pending_of

# linkding field -> Linkshot field
FIELD_NAMES = {"title": "title", "description": "description", "notes": "notes",
               "is_archived": "archived", "unread": "unread"}


def linkshot_fields(data: dict) -> dict:
    return {FIELD_NAMES[name]: value for name, value in data.items() if name in FIELD_NAMES}


def create_or_update(user, data: dict) -> Link:
    """linkding's create: a new bookmark, or the saved one with the given fields and tags replacing its own."""
    url = normalize_url(data["url"])
    existing = Link.objects.filter(user=user, url=url).first()
    if existing is None:
        link = services.save_link(user, url, tag_names=data.get("tag_names", [])).link
        fields = linkshot_fields(data)
        return services.update_link(link, **fields) if fields else link
    # linkding copies title, description, notes and unread from the request, and sets the tags.
    fields = {name: data.get(name, "") for name in ("title", "description", "notes")}
    fields["unread"] = data.get("unread", False)
    return services.update_link(existing, tag_names=data.get("tag_names", []), **fields)


def update(link: Link, data: dict) -> Link:
    """PUT and PATCH: only the given fields change; a URL another link has is an error."""
    fields = linkshot_fields(data)
    if "url" in data:
        fields["url"] = data["url"]
    try:
        return services.update_link(link, tag_names=data.get("tag_names"), **fields)
    except ValidationError as error:
        if "already saved this URL" in " ".join(error.messages):
            raise ValidationError({"url": "A bookmark with this URL already exists."}) from None
        raise


def find_saved(user, raw_url: str) -> Link | None:
    try:
        url = normalize_url(raw_url)
    except ValidationError:
        return None
    return Link.objects.filter(user=user, url=url).prefetch_related("tags").first()


def suggested_tags(link: Link | None) -> list[str]:
    """Names of the link's pending tag suggestions, best first (linkding's ``auto_tags``)."""
    return [s.name for s in pending_of(link)] if link is not None else []
