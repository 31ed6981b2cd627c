"""{% load readable %} … {{ text|readable_text }}: see snapshots/web/readable_text.py."""
from django import template

from snapshots.web.readable_text import readable_html

register = template.Library()
register.filter("readable_text", readable_html)
