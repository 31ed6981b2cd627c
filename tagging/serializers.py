"""JSON shapes of tags in the REST API."""
from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from tagging.models import Tag
from tagging.names import MAX_TAG_LENGTH, clean_tag_name


def validate_tag_name(value: str) -> str:
    try:
        return clean_tag_name(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages) from None


class TagSerializer(serializers.ModelSerializer):
    link_count = serializers.IntegerField(read_only=True, help_text="Number of links with this tag.")

    class Meta:
        model = Tag
        fields = ["id", "name", "link_count", "created_at"]
        read_only_fields = ["id", "link_count", "created_at"]


class TagNameSerializer(serializers.Serializer):
    """Input of tag create and rename: trimmed, ≤ 64 characters, no commas, unique in any case."""

    name = serializers.CharField(max_length=MAX_TAG_LENGTH * 4, trim_whitespace=False,
                                 validators=[validate_tag_name])


class TagMergeSerializer(serializers.Serializer):
    into = serializers.IntegerField(min_value=1, help_text="Id of the tag that receives the links.")
