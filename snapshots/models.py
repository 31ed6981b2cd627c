"""Links people save and the snapshots the capture worker keeps of them."""
from __future__ import annotations

from django.conf import settings
from django.db import models

from snapshots.links.url_rules import MAX_URL_LENGTH
from snapshots.list_cache import ListCacheQuerySet


class Link(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="links")
    url = models.CharField(max_length=MAX_URL_LENGTH)  # normalised form; see url_rules
    title = models.CharField(max_length=512, blank=True)
    description = models.TextField(blank=True)
    notes = models.TextField(blank=True)
    # Readable text of the newest complete snapshot, copied here so search needs no join.
    page_text = models.TextField(blank=True)
    tags = models.ManyToManyField("tagging.Tag", related_name="links", blank=True)
    unread = models.BooleanField(default=False)
    archived = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ListCacheQuerySet.as_manager()  # every change drops the owner's cached list rows

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint("user", "url", name="link_unique_url_per_user")]
        indexes = [models.Index(fields=["user", "-created_at", "-id"], name="link_user_newest")]

    def __str__(self) -> str:
        return self.title or self.url

    @property
    def display_title(self) -> str:
        return self.title or self.url


class SnapshotQuerySet(ListCacheQuerySet):
    list_owner = "link__user_id"


def snapshot_path(instance: "Snapshot", filename: str) -> str:
    return f"snapshots/{instance.link.user_id}/{instance.link_id}/{instance.pk}/{filename}"


class Snapshot(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    link = models.ForeignKey(Link, on_delete=models.CASCADE, related_name="snapshots")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # When the capture message was last sent; a pending row whose message was lost is re-sent.
    queued_at = models.DateTimeField(null=True, blank=True)
    # Captures of imported links go to the lower-priority "capture_bulk" queue, so a link saved by
    # hand during a large import is still captured promptly.
    bulk = models.BooleanField(default=False)
    # The process capturing it (snapshots/capture_jobs/claimants.py): a redelivered message takes over from a dead one.
    claimed_by = models.CharField(max_length=255, blank=True)

    # What the page said about itself.
    final_url = models.CharField(max_length=MAX_URL_LENGTH, blank=True)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=255, blank=True)
    title = models.CharField(max_length=512, blank=True)
    description = models.TextField(blank=True)
    language = models.CharField(max_length=32, blank=True)
    og_image_url = models.CharField(max_length=MAX_URL_LENGTH, blank=True)
    favicon_url = models.CharField(max_length=MAX_URL_LENGTH, blank=True)
    text = models.TextField(blank=True)

    # Stored assets (Django storage API: local by default, S3 or similar in production).
    screenshot = models.FileField(upload_to=snapshot_path, blank=True, max_length=512)
    thumbnail = models.FileField(upload_to=snapshot_path, blank=True, max_length=512)
    # The screenshot as the image model reads it (224x224 PNG): what analyses decode. Not served.
    model_view = models.FileField(upload_to=snapshot_path, blank=True, max_length=512)
    full_page = models.FileField(upload_to=snapshot_path, blank=True, max_length=512)
    html = models.FileField(upload_to=snapshot_path, blank=True, max_length=512)
    mhtml = models.FileField(upload_to=snapshot_path, blank=True, max_length=512)
    pdf = models.FileField(upload_to=snapshot_path, blank=True, max_length=512)
    favicon = models.FileField(upload_to=snapshot_path, blank=True, max_length=512)

    sizes = models.JSONField(default=dict, blank=True)  # asset name -> bytes
    timings = models.JSONField(default=dict, blank=True)  # step name -> seconds
    notes = models.JSONField(default=list, blank=True)  # e.g. assets skipped for size

    objects = SnapshotQuerySet.as_manager()  # every change drops the owner's cached list rows

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["link", "status", "-created_at"], name="snapshot_link_latest")]

    def __str__(self) -> str:
        return f"Snapshot {self.pk} of link {self.link_id} ({self.status})"


class CaptureSettings(models.Model):
    """A person's capture preferences; no row means the defaults (no scheduled re-capture)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="capture_settings")
    # Every link is captured again once its newest snapshot is this many days old; empty = never.
    recapture_interval_days = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "capture settings"

    def __str__(self) -> str:
        return f"Capture settings of {self.user}"
