"""Template tags of the Django templates: `{% load linkshot_ui %}`.

The snapshot status badge is written once, as a Jinja2 macro (templates/jinja2/snapshots/_badge.html),
because the list rows are Jinja2; the Django templates (link page, history) show it through this tag.
"""
from __future__ import annotations

from django import template
from django.template import engines
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.simple_tag
def status_badge(status: str, error: str = "", http_status: int | None = None) -> SafeString:
    """The badge for a snapshot status ("none" when the link has no snapshot); ``error`` becomes its tooltip."""
    macros = engines["jinja2"].env.get_template("snapshots/_badge.html").module
    return mark_safe(str(macros.badge(status, error, http_status)))
