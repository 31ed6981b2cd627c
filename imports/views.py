"""Pages for importing and exporting bookmarks; thin views over imports.services and imports.export."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from config.access import get_owned_or_404
from imports import export, services
from imports.forms import ImportForm
from imports.models import ImportJob

HTMX_STOP_POLLING = 286  # htmx stops an "every 1s" trigger on this status


@login_required
@require_http_methods(["GET", "POST"])
def import_start(request: HttpRequest) -> HttpResponse:
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.start_import(request.user, form.cleaned_data["file"],
                                        folders_as_tags=form.cleaned_data["folders_as_tags"])
        except ValidationError as error:
            form.add_error("file", error.message_dict["file"])
        else:
            messages.success(request, f"Importing {job.filename}: progress below.")
            return redirect("import-detail", pk=job.pk)
    jobs = services.recent_imports(request.user)
    return render(request, "imports/import_start.html", {"form": form, "jobs": jobs}, status=400 if form.errors else 200)


@login_required
@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_owned_or_404(ImportJob.objects.all(), request.user, pk=pk)
    return render(request, "imports/import_detail.html", _progress_context(job))


@login_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress panel alone, polled by htmx until the job finishes."""
    job = get_owned_or_404(ImportJob.objects.all(), request.user, pk=pk)
    response = render(request, "imports/_progress.html", _progress_context(job))
    if job.finished:
        response.status_code = HTMX_STOP_POLLING if request.headers.get("HX-Request") else 200
    return response


def _progress_context(job: ImportJob) -> dict:
    return {"job": job, "issues": job.issues.all()[:services.ISSUES_SHOWN], "issue_count": job.issues.count()}


@login_required
@require_GET
def export_download(request: HttpRequest, kind: str) -> StreamingHttpResponse:
    return export.download(request.user, kind)
