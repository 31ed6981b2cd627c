"""JSON shapes of links and snapshots in the REST API."""
from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from snapshots.links.shown import has_asset, latest_snapshot
from snapshots.links.url_rules import MAX_URL_LENGTH, normalize_url
from snapshots.models import Link, Snapshot
from snapshots.replay.asset_types import ASSET_NAMES
from tagging.serializers import AnalysisSerializer, SuggestionSerializer, TagNameField
from tagging.suggestions.service import PENDING_ATTR, pending_of



def api_asset_urls(snapshot: Snapshot, request) -> dict[str, str | None]:
    """URL of each asset that the API token (or a browser session) can fetch; None if not kept."""
    urls: dict[str, str | None] = {}
    for asset in ASSET_NAMES:
        if not has_asset(snapshot, asset):
            urls[asset] = None
            continue
        path = reverse("api-snapshot-asset", kwargs={"pk": snapshot.pk, "asset": asset})
        urls[asset] = request.build_absolute_uri(path) if request is not None else path
    return urls


class SnapshotAssetsSerializer(serializers.Serializer):
    """Where to fetch each stored asset (owner-checked URLs); null where the asset is missing."""

    screenshot = serializers.URLField(allow_null=True)
    thumbnail = serializers.URLField(allow_null=True)
    full_page = serializers.URLField(allow_null=True)
    html = serializers.URLField(allow_null=True)
    mhtml = serializers.URLField(allow_null=True)
    pdf = serializers.URLField(allow_null=True)
    text = serializers.URLField(allow_null=True)
    favicon = serializers.URLField(allow_null=True)


class SnapshotSerializer(serializers.ModelSerializer):
    urls = serializers.SerializerMethodField(help_text="URLs of the captured assets.")

    class Meta:
        model = Snapshot
        fields = [
            "id", "status", "attempts", "error", "created_at", "started_at", "finished_at",
            "final_url", "http_status", "content_type", "title", "language", "urls",
        ]
        read_only_fields = fields

    @extend_schema_field(SnapshotAssetsSerializer)
    def get_urls(self, snapshot: Snapshot) -> dict[str, str | None]:
        return api_asset_urls(snapshot, self.context.get("request"))


class TagListField(serializers.ListField):
    """A list of tag names; empty entries are skipped, as in the web form's "a, , b"."""

    def to_internal_value(self, data):
        if isinstance(data, list):
            data = [item for item in data if not (isinstance(item, str) and not item.strip())]
        return super().to_internal_value(data)


def tag_list_field(**kwargs) -> serializers.ListField:
    return TagListField(
        child=TagNameField(), max_length=500,
        help_text="Tag names; tags missing from the vocabulary are created.", **kwargs,
    )


def validate_link_url(value: str) -> str:
    try:
        normalize_url(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from None
    return value


class LinkSerializer(serializers.ModelSerializer):
    """A saved link as the API shows it."""

    tags = serializers.SerializerMethodField()
    snapshot = serializers.SerializerMethodField(
        help_text="The newest complete snapshot, else the newest of any status (watch its status); "
                  "null when none was requested.")
    analysis = serializers.SerializerMethodField(
        help_text="Status of the tag models' analysis of the link; null before one was queued.")
    suggestions = serializers.SerializerMethodField(
        help_text="Pending tag suggestions, best first.")

    class Meta:
        model = Link
        fields = [
            "id", "url", "title", "description", "notes", "tags", "unread", "archived",
            "created_at", "updated_at", "snapshot", "analysis", "suggestions",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, link: Link) -> list[str]:
        return [tag.name for tag in link.tags.all()]

    @extend_schema_field(SnapshotSerializer(allow_null=True))
    def get_snapshot(self, link: Link) -> dict | None:
        snapshot = shown_snapshot_of(link)
        if snapshot is None:
            return None
        return SnapshotSerializer(snapshot, context=self.context).data

    @extend_schema_field(AnalysisSerializer(allow_null=True))
    def get_analysis(self, link: Link) -> dict | None:
        try:
            return AnalysisSerializer(link.analysis).data
        except ObjectDoesNotExist:
            return None

    @extend_schema_field(SuggestionSerializer(many=True))
    def get_suggestions(self, link: Link) -> list[dict]:
        pending = getattr(link, PENDING_ATTR, None)  # prefetched for a whole page by the API's queryset
        return SuggestionSerializer(pending if pending is not None else pending_of(link), many=True).data


class LinkCreateSerializer(serializers.Serializer):
    """Input of POST /api/links/; an already-saved URL merges into the existing link."""

    url = serializers.CharField(max_length=MAX_URL_LENGTH, trim_whitespace=False,
                                validators=[validate_link_url],
                                help_text="http or https URL; it is normalised before saving.")
    title = serializers.CharField(max_length=512, required=False, allow_blank=True, default="")
    description = serializers.CharField(required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="", trim_whitespace=False)
    tags = tag_list_field(required=False, default=list)


class LinkUpdateSerializer(serializers.Serializer):
    """Input of PATCH /api/links/<id>/; given tags replace the link's tags."""

    url = serializers.CharField(max_length=MAX_URL_LENGTH, trim_whitespace=False,
                                validators=[validate_link_url], required=False)
    title = serializers.CharField(max_length=512, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    tags = tag_list_field(required=False)
    unread = serializers.BooleanField(required=False)
    archived = serializers.BooleanField(required=False)



# Set by the list view to the snapshot its bulk lookup found, so serialising a page makes no query per link.
SHOWN_SNAPSHOT_ATTR = "api_shown_snapshot"


def shown_snapshot_of(link: Link) -> Snapshot | None:
    """The snapshot a link's JSON carries: newest complete one, else newest of any status."""
    if hasattr(link, SHOWN_SNAPSHOT_ATTR):
        return getattr(link, SHOWN_SNAPSHOT_ATTR)
    return latest_snapshot(link)
