"""The settings page and its actions; thin views over accounts.services, webhooks and capture settings."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import services, webhooks
from accounts.forms import CaptureSettingsForm, WebhookForm
from accounts.models import Webhook, WebhookDelivery
from config.access import get_owned_or_404
from imports.forms import ImportForm
from snapshots.capture_jobs.queue import recapture_interval_days, set_recapture_interval

DELIVERIES_SHOWN = 20


def bookmarklet(request: HttpRequest) -> str:
    """A javascript: link that opens the add form, prefilled, in a small window."""
    add = request.build_absolute_uri(reverse("link-add"))
    return ("javascript:(function(){window.open('" + add + "?url='+encodeURIComponent(location.href)"
            "+'&title='+encodeURIComponent(document.title)+'&description='+encodeURIComponent("
            "(window.getSelection&&String(window.getSelection()))||''),'linkshot',"
            "'width=620,height=720,noopener=no');})();")


def _page(request: HttpRequest, status: int = 200, **forms) -> HttpResponse:
    user = request.user
    feed = services.feed_token(user)
    context = {
        "api_token": services.api_token(user).key,
        "password_form": forms.get("password_form") or PasswordChangeForm(user),
        "capture_form": forms.get("capture_form") or CaptureSettingsForm(
            initial={"recapture_interval_days": recapture_interval_days(user)}),
        "webhook_form": forms.get("webhook_form") or WebhookForm(),
        "import_form": ImportForm(),
        "bookmarklet": bookmarklet(request),
        "feed_rss": request.build_absolute_uri(reverse("feed-rss", args=[feed.key])),
        "feed_atom": request.build_absolute_uri(reverse("feed-atom", args=[feed.key])),
        "webhooks": Webhook.objects.filter(user=user),
        "deliveries": WebhookDelivery.objects.filter(webhook__user=user).select_related("webhook")[:DELIVERIES_SHOWN],
    }
    return render(request, "accounts/settings.html", context, status=status)


@login_required
@require_GET
def settings_page(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def regenerate_api_token(request: HttpRequest) -> HttpResponse:
    services.regenerate_api_token(request.user)
    messages.success(request, "New API token made; the old one no longer works.")
    return redirect("settings")


@login_required
@require_POST
def regenerate_feed_token(request: HttpRequest) -> HttpResponse:
    services.regenerate_feed_token(request.user)
    messages.success(request, "New feed address made; the old feed addresses no longer work.")
    return redirect("settings")


@login_required
@require_POST
def change_password(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.user, request.POST)
    if not form.is_valid():
        return _page(request, status=400, password_form=form)
    update_session_auth_hash(request, form.save())  # stay signed in here
    messages.success(request, "Password changed.")
    return redirect("settings")


@login_required
@require_POST
def capture_settings(request: HttpRequest) -> HttpResponse:
    form = CaptureSettingsForm(request.POST)
    if not form.is_valid():
        return _page(request, status=400, capture_form=form)
    set_recapture_interval(request.user, form.cleaned_data["recapture_interval_days"])
    messages.success(request, "Capture settings saved.")
    return redirect("settings")


@login_required
@require_POST
def add_webhook(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST)
    if form.is_valid():
        try:
            webhooks.add_webhook(request.user, form.cleaned_data["url"], form.cleaned_data["events"])
        except ValidationError as error:
            for field, errors in error.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
    if form.errors:
        return _page(request, status=400, webhook_form=form)
    messages.success(request, "Webhook added.")
    return redirect("settings")


@login_required
@require_POST
def delete_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    get_owned_or_404(Webhook.objects.all(), request.user, pk=pk).delete()
    messages.success(request, "Webhook removed.")
    return redirect("settings")


@login_required
@require_POST
def test_webhook(request: HttpRequest, pk: int) -> HttpResponse:
    webhooks.send_test(get_owned_or_404(Webhook.objects.all(), request.user, pk=pk))
    messages.info(request, "Test delivery queued; its status appears below.")
    return redirect("settings")
