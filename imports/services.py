"""Starting an import from an uploaded file (web form and API alike), and listing a person's imports."""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from imports.models import ImportJob
from imports.parsing.entries import BadFile
from imports.parsing.sniff import detect_format
from imports.tasks import send_import_on_commit

SNIFF_BYTES = 4096
ISSUES_SHOWN = 200  # skipped entries listed on the progress page and in the API; all are counted


def start_import(user, upload: UploadedFile, folders_as_tags: bool = False) -> ImportJob:
    """Keep the file and queue its import; a file that is plainly not a bookmark file is refused now."""
    limit = settings.LINKSHOT_IMPORT_MAX_BYTES
    if upload.size > limit:
        raise ValidationError({"file": f"The file is {upload.size / 1e6:.1f} MB; imports take files up to "
                                       f"{limit / 1e6:.0f} MB. Split it and import the parts."})
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    try:
        file_format = detect_format(head)
    except BadFile as exc:
        raise ValidationError({"file": str(exc)}) from None
    job = ImportJob(user=user, filename=(upload.name or "")[:255], size=upload.size, format=file_format,
                    folders_as_tags=folders_as_tags)
    job.file.save(upload.name or "bookmarks", upload, save=False)
    job.save()
    send_import_on_commit(job.pk)
    return job


def recent_imports(user, limit: int = 10):
    return ImportJob.objects.filter(user=user).order_by("-created_at", "-id")[:limit]
