"""linkding's JSON shapes (docs/api.md of linkding 1.46), field by field, over Linkshot's models."""
from __future__ import annotations

from django.urls import reverse
from rest_framework import serializers

from snapshots.api.serializers import validate_link_url
from snapshots.links.shown import has_asset, latest_snapshot
from snapshots.links.url_rules import MAX_URL_LENGTH
from snapshots.models import Link, Snapshot
from tagging.serializers import TagNameField

# The linkding release whose API this follows; clients compare /health's version against theirs.
LINKDING_API_VERSION = "1.46.2"


def _asset_url(snapshot: Snapshot | None, asset: str, request) -> str | None:
    if snapshot is None or not has_asset(snapshot, asset):
        return None
    path = reverse("api-snapshot-asset", kwargs={"pk": snapshot.pk, "asset": asset})
    return request.build_absolute_uri(path) if request is not None else path


def web_archive_url(link: Link) -> str:
    """linkding's fallback: the Wayback Machine's copy closest to when the link was saved."""
    return f"https://web.archive.org/web/{link.created_at:%Y%m%d%H%M%S}/{link.url}"


class BookmarkSerializer(serializers.ModelSerializer):
    """A link as linkding's GET /api/bookmarks/ shows a bookmark."""

    is_archived = serializers.BooleanField(source="archived")
    shared = serializers.SerializerMethodField()
    tag_names = serializers.SerializerMethodField()
    date_added = serializers.DateTimeField(source="created_at")
    date_modified = serializers.DateTimeField(source="updated_at")
    web_archive_snapshot_url = serializers.SerializerMethodField()
    favicon_url = serializers.SerializerMethodField()
    preview_image_url = serializers.SerializerMethodField()
    website_title = serializers.SerializerMethodField()  # linkding keeps these two, always null
    website_description = serializers.SerializerMethodField()

    class Meta:
        model = Link
        fields = ["id", "url", "title", "description", "notes", "web_archive_snapshot_url", "favicon_url",
                  "preview_image_url", "is_archived", "unread", "shared", "tag_names", "date_added",
                  "date_modified", "website_title", "website_description"]
        read_only_fields = fields

    def _snapshot(self, link: Link) -> Snapshot | None:
        cache = self.context.setdefault("snapshots", {})
        if link.pk not in cache:
            cache[link.pk] = latest_snapshot(link)
        return cache[link.pk]

    def get_shared(self, link: Link) -> bool:
        return False  # Linkshot has no sharing: every link is private to its owner

    def get_tag_names(self, link: Link) -> list[str]:
        return [tag.name for tag in link.tags.all()]

    def get_web_archive_snapshot_url(self, link: Link) -> str:
        return web_archive_url(link)

    def get_favicon_url(self, link: Link) -> str | None:
        return _asset_url(self._snapshot(link), "favicon", self.context.get("request"))

    def get_preview_image_url(self, link: Link) -> str | None:
        return _asset_url(self._snapshot(link), "thumbnail", self.context.get("request"))

    def get_website_title(self, link: Link) -> None:
        return None

    def get_website_description(self, link: Link) -> None:
        return None


class BookmarkInputSerializer(serializers.Serializer):
    """linkding's writable bookmark fields; ``url`` is required for create and PUT."""

    url = serializers.CharField(max_length=MAX_URL_LENGTH, validators=[validate_link_url])
    title = serializers.CharField(max_length=512, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    is_archived = serializers.BooleanField(required=False)
    unread = serializers.BooleanField(required=False)
    shared = serializers.BooleanField(required=False)  # accepted and ignored: no sharing in Linkshot
    tag_names = serializers.ListField(child=TagNameField(), required=False, max_length=500)


class LinkdingTagSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    date_added = serializers.DateTimeField(source="created_at")
