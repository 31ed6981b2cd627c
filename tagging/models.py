"""Per-user tag vocabulary."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from tagging.names import MAX_TAG_LENGTH, tag_key


class Tag(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=MAX_TAG_LENGTH)
    # tag_key(name), kept by save(): what makes two spellings one tag, on every database.
    name_key = models.CharField(max_length=MAX_TAG_LENGTH * 3, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = [Lower("name")]
        constraints = [
            # Case-insensitive uniqueness per user, beyond ASCII: "Python"/"python", "Été"/"ÉTÉ".
            models.UniqueConstraint("user", "name_key", name="tag_unique_folded_name_per_user"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        self.name_key = tag_key(self.name)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "name" in update_fields:
            kwargs["update_fields"] = {*update_fields, "name_key"}
        super().save(*args, **kwargs)
