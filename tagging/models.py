"""Per-user tag vocabulary."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from snapshots.list_cache import ListCacheQuerySet
from tagging.names import MAX_TAG_LENGTH


class Tag(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=MAX_TAG_LENGTH)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ListCacheQuerySet.as_manager()  # every change drops the owner's cached list rows

    class Meta:
        ordering = [Lower("name")]
        constraints = [
            # Case-insensitive uniqueness per user: "Python" and "python" are one tag.
            models.UniqueConstraint(Lower("name"), "user", name="tag_unique_name_per_user"),
        ]

    def __str__(self) -> str:
        return self.name
