"""Web pages for links: list, add, detail with live snapshot status, edit, delete, bulk actions."""
from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from config.access import get_owned_or_404, owned_by
from snapshots import list_cache
from snapshots.capture_jobs.queue import request_snapshot
from snapshots.links import services
from snapshots.links.queries import query_links
from snapshots.models import Link, Snapshot
from snapshots.search.snippets import snippets_for
from snapshots.web.add_prefill import prefill_from, saved_link_for
from snapshots.web.display import Clock
from snapshots.web.forms import BULK_ACTIONS, BulkForm, LinkEditForm, LinkForm
from snapshots.web.listing import (
    SHOW_CHOICES, ListFilters, Page, asset_url, asset_urls, link_row, link_rows, paginate, query_url,
)
from tagging.suggestions.panel import fresh_row, panel_for
from tagging.suggestions.service import with_pending

log = logging.getLogger(__name__)

HISTORY_LIMIT = 20
HTMX_STOP_POLLING = 286  # htmx stops an "every 2s" trigger when it gets this status
HISTORY_ASSETS = ("screenshot", "html", "mhtml", "pdf")
EDITABLE_FIELDS = ("url", "title", "description", "notes")


def _user_links(request: HttpRequest) -> QuerySet[Link]:
    return owned_by(Link.objects.all(), request.user)


def _get_link(request: HttpRequest, pk: int) -> Link:
    return get_owned_or_404(Link.objects.all(), request.user, pk=pk)


def _safe_next(request: HttpRequest, default: str = "") -> str:
    """Where to go back to after a POST: a local URL from the form, else ``default`` (the list)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return default or reverse("link-list")


def _add_service_errors(form, error: ValidationError, field: str = "url") -> None:
    """Show a service's refusal in the form: per field when it names one, else on ``field``."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(field, error)


@login_required
@require_GET
def link_list(request: HttpRequest) -> HttpResponse:
    filters = ListFilters.from_querydict(request.GET)
    rows = list_cache.rows_for(request.user.pk, _rows_variant(filters), lambda: _render_rows(request, filters))
    page = Page(items=[], number=filters.page, has_next=rows.has_next)
    params = request.GET
    context = {
        "filters": filters,
        "has_rows": rows.count > 0,
        "rows_html": mark_safe(rows.html),
        "page": page,
        "previous_url": query_url(params, page=page.number - 1 if page.number > 2 else None),
        "next_url": query_url(params, page=page.number + 1),
        "tabs": [(label, query_url(params, show=key or None, page=None), key == filters.show)
                 for key, label in SHOW_CHOICES.items()],
        "active_tags": [(name, query_url(params, tag=[t for t in filters.tags if t != name], page=None))
                        for name in filters.tags],
        "clear_url": reverse("link-list"),
        "bulk_actions": BULK_ACTIONS,
    }
    return render(request, "snapshots/link_list.html", context)


def _rows_variant(filters: ListFilters) -> str:
    """What the rendered rows depend on besides the user's data."""
    return f"{filters!r}|{get_language()}|{timezone.get_current_timezone_name()}"


def _render_rows(request: HttpRequest, filters: ListFilters) -> list_cache.ListRows:
    # The page text and notes can be long and the list shows neither.
    links = with_pending(query_links(request.user, filters.as_query(), Link.objects.defer("page_text", "notes")))
    page = paginate(links, filters.page)
    rows = link_rows(page.items, with_tags=True)
    if filters.query:
        found = snippets_for([row.link.pk for row in rows], filters.query)
        for row in rows:
            row.snippet = found.get(row.link.pk, "")
    # Rendered by Jinja2 (see templates/jinja2): the rows are most of the page's work.
    html = render_to_string("snapshots/_rows.html", {"rows": rows, "clock": Clock()}, request, using="jinja2")
    return list_cache.ListRows(html=html, count=len(rows), has_next=page.has_next)


@login_required
@require_http_methods(["GET", "POST"])
def link_add(request: HttpRequest) -> HttpResponse:
    # GET parameters prefill the form, so a bookmarklet can open /add/?url=...&title=...
    initial = {name: request.GET.get(name, "") for name in ("url", "title", "description")}
    saved = saved_link_for(request.user, initial["url"]) if request.method == "GET" else None
    if saved is not None:
        initial = prefill_from(saved, initial)
    form = LinkForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            result = services.save_link(request.user, data["url"], title=data["title"],
                                        description=data["description"], notes=data["notes"],
                                        tag_names=data["tags"])
        except ValidationError as error:
            _add_service_errors(form, error)
        else:
            if not result.created:
                messages.info(request, "This URL is already saved — tags merged.")
                return redirect("link-detail", pk=result.link.pk)
            messages.success(request, "Link saved. Its snapshot is being captured.")
            return redirect("link-list")
    return render(request, "snapshots/link_form.html", {"form": form, "adding": True, "saved": saved})


def _duration(snapshot: Snapshot) -> float | None:
    if snapshot.started_at and snapshot.finished_at:
        return (snapshot.finished_at - snapshot.started_at).total_seconds()
    return None


def _detail_context(link: Link) -> dict:
    """The link's snapshot panel: newest status, newest complete capture in full, history."""
    state = link_row(link)
    shown = Snapshot.objects.filter(pk=state.shown.pk).first() if state.shown else None
    history = list(link.snapshots.defer("text").order_by("-created_at", "-id")[:HISTORY_LIMIT])
    for snapshot in history:
        snapshot.took = _duration(snapshot)
        snapshot.files = {name: asset_url(snapshot, name) for name in HISTORY_ASSETS}
    return {
        "link": link,
        "state": state,
        "shown": shown,
        "assets": asset_urls(shown) if shown else {},
        "history": history,
    }


@login_required
@require_GET
def link_detail(request: HttpRequest, pk: int) -> HttpResponse:
    link = _get_link(request, pk)
    context = _detail_context(link)
    context["tags"] = list(link.tags.all())
    context["panel"] = panel_for(link, context["state"])
    return render(request, "snapshots/link_detail.html", context)


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def polled_link(request: HttpRequest, pk: int) -> Link | HttpResponse:
    """The link a polling partial shows, or the answer that ends the polling.

    A poll after the session ended reloads the page (to the login form) rather than swapping the
    login page into a badge; a link deleted meanwhile tells htmx to stop asking.
    """
    if not request.user.is_authenticated:
        if _is_htmx(request):
            return HttpResponse(status=204, headers={"HX-Refresh": "true"})
        return redirect_to_login(request.get_full_path())
    try:
        return _get_link(request, pk)
    except Http404:
        if _is_htmx(request):
            return HttpResponse(status=HTMX_STOP_POLLING)
        raise


@require_GET
def link_status(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx partial: the status badge and thumbnail; the page polls it while a capture runs."""
    link = polled_link(request, pk)
    if isinstance(link, HttpResponse):
        return link
    # Swapped in by htmx, the partial also refreshes the title the capture may have filled in.
    with_title = _is_htmx(request)
    if request.GET.get("variant") == "detail":
        context = {**_detail_context(link), "with_title": with_title}
        return render(request, "snapshots/_snapshot_panel.html", context)
    row = link_row(link)
    # The capture is over: the row's tags come along and follow the analysis it starts.
    tag_row = fresh_row(link) if with_title and not row.is_active else None
    context = {"row": row, "with_title": with_title, "tag_row": tag_row}
    return render(request, "snapshots/_status.html", context)


@login_required
@require_POST
def link_recapture(request: HttpRequest, pk: int) -> HttpResponse:
    link = _get_link(request, pk)
    if link_row(link).is_active:
        messages.info(request, "A capture of this link is already under way.")
    else:
        request_snapshot(link)
        messages.success(request, "A new snapshot is being captured; earlier ones are kept.")
    return redirect(_safe_next(request, default=reverse("link-detail", kwargs={"pk": link.pk})))


@login_required
@require_http_methods(["GET", "POST"])
def link_edit(request: HttpRequest, pk: int) -> HttpResponse:
    link = _get_link(request, pk)
    initial = {name: getattr(link, name) for name in (*EDITABLE_FIELDS, "unread", "archived")}
    initial["tags"] = [tag.name for tag in link.tags.all()]
    form = LinkEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        fields = {name: data[name] for name in (*EDITABLE_FIELDS, "unread", "archived")}
        try:
            services.update_link(link, tag_names=data["tags"], **fields)
        except ValidationError as error:
            link.refresh_from_db()
            _add_service_errors(form, error)
        else:
            messages.success(request, "Changes saved.")
            return redirect("link-detail", pk=link.pk)
    return render(request, "snapshots/link_form.html", {"form": form, "link": link, "adding": False})


@login_required
@require_http_methods(["GET", "POST"])
def link_delete(request: HttpRequest, pk: int) -> HttpResponse:
    link = _get_link(request, pk)
    if request.method == "POST":
        services.bulk_delete(_user_links(request).filter(pk=link.pk))
        messages.success(request, f"Deleted “{link.display_title}”.")
        return redirect("link-list")
    return render(request, "snapshots/link_confirm_delete.html", {"link": link})


def _run_bulk(action: str, links: QuerySet[Link], user, tag_names: list[str]) -> str:
    """Apply one bulk action and say what happened."""
    if action == "add_tags":
        return f"Tagged {services.bulk_add_tags(links, user, tag_names)} link(s) with {', '.join(tag_names)}."
    if action == "remove_tags":
        return f"Removed {', '.join(tag_names)} from {services.bulk_remove_tags(links, user, tag_names)} link(s)."
    if action in ("archive", "unarchive"):
        count = services.bulk_set_archived(links, archived=action == "archive")
        return f"{'Archived' if action == 'archive' else 'Unarchived'} {count} link(s)."
    if action in ("mark_read", "mark_unread"):
        count = services.bulk_set_unread(links, unread=action == "mark_unread")
        return f"Marked {count} link(s) as {'unread' if action == 'mark_unread' else 'read'}."
    return f"Deleted {services.bulk_delete(links)} link(s)."


@login_required
@require_POST
def link_bulk(request: HttpRequest) -> HttpResponse:
    """Act on the checked rows; ids of other people's links simply match nothing."""
    back = _safe_next(request)
    form = BulkForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect(back)
    data = form.cleaned_data
    links = _user_links(request).filter(pk__in=data["ids"])
    if data["action"] == "delete" and not data["confirm"]:
        return render(request, "snapshots/bulk_confirm_delete.html",
                      {"links": list(links), "next": back})
    outcome = _run_bulk(data["action"], links, request.user, data["tags"])
    log.info("Bulk %s by user %s: %s", data["action"], request.user.pk, outcome)
    messages.success(request, outcome)
    return redirect(back)
