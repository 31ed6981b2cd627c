"""Per-user tag vocabulary."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower

from snapshots.list_cache import ListCacheQuerySet
from tagging.names import MAX_TAG_LENGTH, tag_key


class Tag(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tags")
    name = models.CharField(max_length=MAX_TAG_LENGTH)
    # tag_key(name), kept by save(): what makes two spellings one tag, on every database.
    name_key = models.CharField(max_length=MAX_TAG_LENGTH * 3, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ListCacheQuerySet.as_manager()  # every change drops the owner's cached list rows

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


class Analysis(models.Model):
    """What the models saw in one link: its stored vectors and the job that computed them.

    One row per link. A completed capture (or a failed one: the text path still runs) sets it back
    to pending; the inference worker claims pending rows in batches, stores the vectors once and
    scores suggestions from them. Nothing later recomputes the vectors.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    link = models.OneToOneField("snapshots.Link", on_delete=models.CASCADE, related_name="analysis")
    # Denormalised owner: the vector index of one person is read without a join.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    snapshot = models.ForeignKey("snapshots.Snapshot", on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    model_version = models.CharField(max_length=64, blank=True)
    claim = models.CharField(max_length=32, blank=True)  # token of the batch that claimed the row
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Vectors stored, suggestions not yet scored: ``reanalyze`` scores every link once the whole
    # library is redone (tagging/analysis/scoring_phase.py); the worker scores as it stores.
    suggestions_due = models.BooleanField(default=False)

    # float16 vectors as raw bytes (little endian); empty when that input was missing.
    image_feature = models.BinaryField(blank=True, default=b"")
    image_descriptor = models.BinaryField(blank=True, default=b"")
    text_vector = models.BinaryField(blank=True, default=b"")
    # The page's top terms as hashed ids and counts (tagging.scoring.lexical); empty without text.
    term_vector = models.BinaryField(blank=True, default=b"")
    concepts = models.JSONField(default=list, blank=True)  # [[ImageNet class, probability], ...]
    inputs = models.JSONField(default=list, blank=True)  # which inputs were used: "image", "text", "url"
    terms = models.JSONField(default=dict, blank=True)  # headings and meta keywords of the captured HTML

    objects = ListCacheQuerySet.as_manager()  # list rows show the analysis status

    class Meta:
        verbose_name_plural = "analyses"
        indexes = [
            models.Index(fields=["status", "created_at"], name="analysis_status_age"),
            models.Index(fields=["user", "status"], name="analysis_user_status"),
            # The claim takes the oldest pending first: read in order from here, not sorted per batch.
            models.Index(fields=["status", "queued_at", "id"], name="analysis_claim_order"),
            models.Index(fields=["suggestions_due", "id"], name="analysis_suggestions_due",
                         condition=models.Q(suggestions_due=True)),
        ]

    def __str__(self) -> str:
        return f"Analysis of link {self.link_id} ({self.status})"


class TagSuggestion(models.Model):
    """A tag the models propose for a link: an existing tag, or a new name when none fits."""

    class State(models.TextChoices):
        PENDING = "pending"
        ACCEPTED = "accepted"
        REJECTED = "rejected"

    link = models.ForeignKey("snapshots.Link", on_delete=models.CASCADE, related_name="suggestions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, null=True, blank=True, related_name="suggestions")
    name = models.CharField(max_length=MAX_TAG_LENGTH)  # the tag's name, or the proposed new name
    score = models.FloatField()
    reasons = models.JSONField(default=list)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ListCacheQuerySet.as_manager()  # list rows show pending suggestions

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint("link", Lower("name"), name="suggestion_unique_name_per_link"),
        ]
        indexes = [models.Index(fields=["user", "state", "-score"], name="suggestion_user_state")]

    def __str__(self) -> str:
        return f"{self.name} for link {self.link_id} ({self.score:.2f}, {self.state})"

    @property
    def existing(self) -> bool:
        return self.tag_id is not None


class SuggestionSettings(models.Model):
    """A person's suggestion preferences; no row means the defaults (nothing applied automatically)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="suggestion_settings")
    # Suggestions of existing tags scoring at least this are applied at once; empty = never.
    auto_apply_above = models.FloatField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "suggestion settings"

    def __str__(self) -> str:
        return f"Suggestion settings of {self.user}"
