"""JSON shapes of tags in the REST API."""
from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tagging.models import Analysis, Tag, TagSuggestion
from tagging.names import MAX_TAG_LENGTH, clean_tag_name


@extend_schema_field({"type": "string", "maxLength": MAX_TAG_LENGTH, "pattern": "^[^,]+$"})
class TagNameField(serializers.Field):
    """One tag name: a string following the tag name rules (see tagging.names)."""

    default_error_messages = {"not_a_string": "Tag names must be strings."}

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str):
            self.fail("not_a_string")
        try:
            return clean_tag_name(data)
        except DjangoValidationError as error:
            raise serializers.ValidationError(error.messages) from None

    def to_representation(self, value) -> str:
        return str(value)


class TagSerializer(serializers.ModelSerializer):
    link_count = serializers.IntegerField(read_only=True, help_text="Number of links with this tag.")

    class Meta:
        model = Tag
        fields = ["id", "name", "link_count", "created_at"]
        read_only_fields = ["id", "link_count", "created_at"]


class TagNameSerializer(serializers.Serializer):
    """Input of tag create and rename: trimmed, ≤ 64 characters, no commas, unique in any case."""

    name = TagNameField()


class TagMergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(min_value=1, help_text="Id of the tag that receives the links.")


class AnalysisSerializer(serializers.ModelSerializer):
    """How far the models got with a link (like a snapshot's capture status)."""

    model = serializers.CharField(source="model_version", help_text="Weights + export hash of the models used.")

    class Meta:
        model = Analysis
        fields = ["status", "error", "model", "finished_at"]
        read_only_fields = fields


class SuggestionSerializer(serializers.ModelSerializer):
    tag = serializers.CharField(source="name", help_text="The tag's name (existing, or proposed new).")
    existing = serializers.BooleanField(read_only=True, help_text="True for one of your tags, false for a new name.")
    reasons = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = TagSuggestion
        fields = ["tag", "score", "existing", "reasons"]
        read_only_fields = fields


class PendingSuggestionSerializer(SuggestionSerializer):
    """A pending suggestion with its link, for the review list across links."""

    link = serializers.IntegerField(source="link_id", read_only=True)
    link_url = serializers.CharField(source="link.url", read_only=True)
    link_title = serializers.CharField(source="link.display_title", read_only=True)

    class Meta(SuggestionSerializer.Meta):
        fields = ["id", "link", "link_url", "link_title", *SuggestionSerializer.Meta.fields]
        read_only_fields = fields


class SuggestionDecisionSerializer(serializers.Serializer):
    """Input of accept and reject: names of suggested tags (any case)."""

    tags = serializers.ListField(child=TagNameField(), min_length=1, max_length=50)
