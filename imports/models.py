"""Bookmark import jobs: the uploaded file, progress and what was skipped, kept in the database.

The job row is the whole state of an import: a worker that dies mid-file leaves ``done`` at the
last committed batch, and the next worker parses the file again, skipping the first ``done``
entries (links are unique per URL, so even a replayed batch adds nothing).
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


def import_file_path(instance: "ImportJob", filename: str) -> str:
    return f"imports/{instance.user_id}/{uuid.uuid4().hex}"


class ImportJob(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class Format(models.TextChoices):
        NETSCAPE = "netscape", "Netscape bookmark HTML"
        JSON = "json", "Linkshot JSON"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="import_jobs")
    file = models.FileField(upload_to=import_file_path, max_length=512)
    filename = models.CharField(max_length=255, blank=True)  # as uploaded, for display only
    size = models.PositiveBigIntegerField(default=0)
    format = models.CharField(max_length=16, choices=Format.choices, blank=True)
    folders_as_tags = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    total = models.PositiveIntegerField(null=True, blank=True)  # entries in the file, once counted
    done = models.PositiveIntegerField(default=0)  # entries handled (imported or skipped), committed
    imported = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)  # why the whole file stopped, if it did
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)  # a running job not heard from is resumed
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Import {self.pk} of {self.filename or 'a file'} ({self.status})"

    @property
    def finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.finished else 0
        return min(100, round(100 * self.done / self.total))


class ImportIssue(models.Model):
    """One entry of the file that was skipped (or imported with a change), and why."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="issues")
    position = models.PositiveIntegerField()  # entry number in the file, from 1
    url = models.CharField(max_length=2048, blank=True)
    reason = models.TextField()
    skipped = models.BooleanField(default=True)  # False: imported, but something was dropped

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"entry {self.position}: {self.reason}"
