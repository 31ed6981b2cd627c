"""JSON shapes of tags in the REST API."""
from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from tagging.models import Tag
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
    date_added = serializers.DateTimeField(source="created_at", read_only=True,
                                           help_text="Same as created_at (the name linkding's API uses).")

    class Meta:
        model = Tag
        fields = ["id", "name", "link_count", "created_at", "date_added"]
        read_only_fields = ["id", "link_count", "created_at", "date_added"]


class TagNameSerializer(serializers.Serializer):
    """Input of tag create and rename: trimmed, ≤ 64 characters, no commas, unique in any case."""

    name = TagNameField()


class TagMergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(min_value=1, help_text="Id of the tag that receives the links.")
