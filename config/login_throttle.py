"""What a locked-out sign-in sees (django-axes counts the failures; settings say how many)."""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

LOCKED_STATUS = 429


def lockout_message() -> str:
    minutes = settings.LINKSHOT_LOGIN_COOLOFF_MINUTES
    return (f"Too many failed sign-ins for this account or from this address. Try again in {minutes} "
            "minutes, or ask an administrator to unlock it.")


def lockout_response(request: HttpRequest, original_response=None, credentials: dict | None = None) -> HttpResponse:
    """429 with the reason: JSON for the API, the login page with the message for people."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": lockout_message()}, status=LOCKED_STATUS)
    context = {"locked_out": lockout_message(), "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=LOCKED_STATUS)
