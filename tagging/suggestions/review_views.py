"""The review page: a person's pending suggestions across links, best first, decided with j/k/a/r;
filter by tag, accept everything above a score at once, and the auto-apply threshold."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_GET, require_POST

from tagging.forms import AcceptAboveForm, AutoApplyForm
from tagging.suggestions import review
from tagging.suggestions import service as suggestions

DEFAULT_BULK_PERCENT = 80


def _review_url(tag: str = "", after: str = "") -> str:
    params = urlencode({key: value for key, value in (("tag", tag), ("after", after)) if value})
    return f"{reverse('suggestion-review')}?{params}" if params else reverse("suggestion-review")


def _percent(score: float | None) -> int | None:
    return None if score is None else round(score * 100)


@login_required
@require_GET
def suggestion_review(request: HttpRequest) -> HttpResponse:
    tag = request.GET.get("tag", "").strip()
    after = review.parse_after(request.GET.get("after"))
    page = review.review_page(request.user, tag, after)
    threshold = suggestions.auto_apply_threshold(request.user.pk)
    context = {
        "page": page,
        "tag": tag,
        "here": request.get_full_path(),
        "first_url": _review_url(tag) if after else "",
        "next_url": _review_url(tag, page.next_after) if page.has_next else "",
        "bulk_form": AcceptAboveForm(initial={"min_score": DEFAULT_BULK_PERCENT, "tag": tag}),
        "auto_form": AutoApplyForm(initial={"auto_apply": _percent(threshold)}),
        "auto_percent": _percent(threshold),
    }
    return render(request, "tagging/suggestion_review.html", context)


def _form_errors(request: HttpRequest, form) -> None:
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)


@login_required
@require_POST
def accept_above(request: HttpRequest) -> HttpResponse:
    form = AcceptAboveForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_review_url(request.POST.get("tag", "").strip()))
    percent, tag = form.cleaned_data["min_score"], form.cleaned_data["tag"]
    count = suggestions.accept_above(request.user, percent / 100, tag or None)
    which = f" of {tag}" if tag else ""
    if count:
        plural = "s" if count != 1 else ""
        messages.success(request, f"Accepted {count} suggestion{plural}{which} scoring {percent}% or more.")
    else:
        messages.info(request, f"No pending suggestion{which} scores {percent}% or more; nothing changed.")
    return redirect(_review_url(tag))


@login_required
@require_POST
def auto_apply(request: HttpRequest) -> HttpResponse:
    form = AutoApplyForm(request.POST)
    if not form.is_valid():
        _form_errors(request, form)
        return redirect(_review_url())
    percent = form.cleaned_data["auto_apply"]
    try:
        suggestions.set_auto_apply(request.user, None if percent is None else percent / 100)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(_review_url())
    if percent is None:
        messages.success(request, "Suggestions are no longer applied automatically.")
    else:
        messages.success(request, f"Suggestions of your existing tags scoring {percent}% or more "
                                  "are now applied automatically.")
    return redirect(_review_url())
