"""Django admin for the tag vocabulary, with link counts."""
from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from tagging.models import Tag
from tagging.names import clean_tag_name
from tagging.services import tags_named


class TagAdminForm(forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["user", "name"]

    def clean_name(self) -> str:
        return clean_tag_name(self.cleaned_data["name"])

    def clean(self) -> dict:
        cleaned = super().clean()
        user, name = cleaned.get("user"), cleaned.get("name")
        if user is not None and name:
            clash = tags_named(user, [name]).exclude(pk=self.instance.pk).first()
            if clash is not None:
                raise ValidationError({"name": f"{user} already has a tag named {clash.name!r}."})
        return cleaned


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    form = TagAdminForm
    list_display = ["name", "user", "link_count", "created_at"]
    list_filter = ["user", "created_at"]
    search_fields = ["name", "user__username"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    readonly_fields = ["created_at"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        return super().get_queryset(request).annotate(link_count=Count("links"))

    @admin.display(description="links", ordering="link_count")
    def link_count(self, tag: Tag) -> int:
        return tag.link_count
