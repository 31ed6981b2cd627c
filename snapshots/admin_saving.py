"""Admin → Links → Add and change go through the same services as the web form and the API.

So an admin save is normalised, SSRF-checked and captured, and a URL the user already saved merges
into that link (new tags added) instead of failing on the unique constraint.
"""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from snapshots.links import services
from snapshots.models import Link


class LinkAdminForm(forms.ModelForm):
    class Meta:
        model = Link
        exclude = ["page_text"]

    def clean_url(self) -> str:
        try:
            return services.checked_url(self.cleaned_data["url"])
        except ValidationError as exc:  # the services name the "url" field; here it is implied
            raise ValidationError(exc.message_dict.get("url", exc.messages) if hasattr(exc, "error_dict")
                                  else exc.messages) from None

    def clean(self) -> dict:
        cleaned = super().clean()
        user, tags = cleaned.get("user"), cleaned.get("tags")
        if user is not None and tags is not None and any(tag.user_id != user.pk for tag in tags):
            raise ValidationError({"tags": "A link can only carry tags of its own user."})
        return cleaned

    def _get_validation_exclusions(self) -> set[str]:
        # The URL is checked by clean_url and validate_unique below; left in, the model's unique
        # constraint would answer a duplicate with "Constraint … is violated".
        return {*super()._get_validation_exclusions(), "url"}

    def validate_unique(self) -> None:
        """A new link merges into a saved one; an edit must not take another link's URL."""
        if self.instance._state.adding:
            return
        user, url = self.cleaned_data.get("user"), self.cleaned_data.get("url")
        if user and url and Link.objects.filter(user=user, url=url).exclude(pk=self.instance.pk).exists():
            self.add_error("url", "This user has already saved this URL as another link.")


class SavesThroughServices:
    """ModelAdmin mixin: a new link is saved with services.save_link (capture queued, merge on duplicate)."""

    def save_model(self, request: HttpRequest, obj: Link, form: forms.ModelForm, change: bool) -> None:
        if change:  # the form already normalised and checked the URL
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        result = services.save_link(data["user"], data["url"], title=data.get("title", ""),
                                    description=data.get("description", ""), notes=data.get("notes", ""))
        if result.created:
            services.bulk_set_unread(Link.objects.filter(pk=result.link.pk), data.get("unread", False))
            services.bulk_set_archived(Link.objects.filter(pk=result.link.pk), data.get("archived", False))
        else:
            messages.info(request, f"{data['user']} had already saved {result.link.url}; "
                                   "the new tags and empty fields were merged into that link.")
        # The admin goes on with this object (related objects, the redirect): make it the saved row.
        obj.pk = result.link.pk
        obj._state.adding = False
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets, change: bool) -> None:
        if change:
            super().save_related(request, form, formsets, change)
            return
        form.instance.tags.add(*form.cleaned_data.get("tags", []))  # merged, never replacing
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
