"""Web views of a link's tag suggestions: the link page's panel (polled while the models work) and
one-click accept / reject from the link page, a list row or the review page.

Every decision is a plain form POST that redirects back (works without JavaScript); htmx sends the
same POST and gets back the part of the page that changed instead (``variant``: the link page's
panel, one list ``row``, or one ``review`` item).
"""
from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from config.access import get_owned_or_404
from snapshots.models import Link
from snapshots.web.display import Clock
from snapshots.web.views import _is_htmx, _safe_next, polled_link
from tagging.models import TagSuggestion
from tagging.suggestions import service as suggestions
from tagging.suggestions.panel import fresh_row, panel_for

Decide = Callable[[Link, list[str]], list[TagSuggestion]]


def _get_link(request: HttpRequest, pk: int) -> Link:
    return get_owned_or_404(Link.objects.all(), request.user, pk=pk)


def _panel(request: HttpRequest, link: Link, *, note: str = "", error: str = "", status: int = 200) -> HttpResponse:
    """The suggestions panel, and (swapped out of band) the link's tags, which accepting changes."""
    context = {"link": link, "panel": panel_for(link), "tags": list(link.tags.all()),
               "with_tags": True, "note": note, "error": error}
    return render(request, "tagging/_suggestions_panel.html", context, status=status)


@require_GET
def link_suggestions(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx partial polled while the link is being captured or analysed: the link page's panel, or
    with ``variant=row`` a list row's tags."""
    link = polled_link(request, pk)
    if isinstance(link, HttpResponse):
        return link
    if request.GET.get("variant") == "row":
        return render(request, "snapshots/_tags.html", {"row": fresh_row(link)}, using="jinja2")
    return _panel(request, link)


@login_required
@require_POST
def accept(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, suggestions.accept, "Tagged with {}.")


@login_required
@require_POST
def reject(request: HttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, suggestions.reject, "{} will not be suggested for this link again.")


def _decide(request: HttpRequest, pk: int, decide: Decide, done: str) -> HttpResponse:
    link = _get_link(request, pk)
    names = [name.strip() for name in request.POST.getlist("tag") if name.strip()]
    try:
        decided = decide(link, names)
    except ValidationError as error:
        return _answer(request, link, names, error=" ".join(error.messages), status=400)
    return _answer(request, link, names, note=done.format(", ".join(row.name for row in decided)))


def _answer(request: HttpRequest, link: Link, names: list[str], *, note: str = "", error: str = "",
            status: int = 200) -> HttpResponse:
    if not _is_htmx(request):
        messages.add_message(request, messages.ERROR if error else messages.SUCCESS, error or note)
        return redirect(_safe_next(request, default=reverse("link-detail", kwargs={"pk": link.pk})))
    variant = request.POST.get("variant", "")
    if variant == "row":
        return HttpResponse(_row_html(request, link, error), status=status)
    if variant == "review":
        return _review_item(request, link, names, error, status)
    return _panel(request, link, note=note, error=error, status=status)


def _row_html(request: HttpRequest, link: Link, error: str = "") -> str:
    """One list row as the list renders it (its cached copy was dropped by the decision)."""
    context = {"rows": [fresh_row(link)], "clock": Clock(), "row_error": error}
    return render_to_string("snapshots/_rows.html", context, request, using="jinja2")


def _review_item(request: HttpRequest, link: Link, names: list[str], error: str, status: int) -> HttpResponse:
    """The decided item of the review page, kept in place so j/k keep their places."""
    item = None
    if names:
        item = TagSuggestion.objects.filter(link=link, name__iexact=names[0]).select_related("link").first()
    return render(request, "tagging/_review_item.html", {"item": item, "error": error}, status=status)
