"""Web forms for links: validation only; saving goes through snapshots.links.services."""
from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from snapshots.links.url_rules import normalize_url
from tagging.names import split_tag_string

URL_HELP = "The page to save, starting with http:// or https://."
TAGS_HELP = "Separate tags with commas."

BULK_ACTIONS = [
    ("add_tags", "Add tags"),
    ("remove_tags", "Remove tags"),
    ("mark_read", "Mark as read"),
    ("mark_unread", "Mark as unread"),
    ("archive", "Archive"),
    ("unarchive", "Unarchive"),
    ("delete", "Delete"),
]
TAG_ACTIONS = {"add_tags", "remove_tags"}


def _text_input(**attrs) -> forms.TextInput:
    return forms.TextInput(attrs={"autocomplete": "off", **attrs})


def _tags_input() -> forms.TextInput:
    # The autocomplete script completes the comma-separated piece under the cursor.
    return _text_input(placeholder="e.g. python, reading-list", spellcheck="false",
                       **{"data-tag-autocomplete": ""})


class TagListField(forms.CharField):
    """A comma-separated tag field that cleans to a list of valid, de-duplicated names."""

    def to_python(self, value) -> list[str]:
        text = super().to_python(value)
        return split_tag_string(text) if text else []

    def validate(self, value) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value


class LinkForm(forms.Form):
    # A text input rather than type=url: the browser would accept javascript: URLs and reject
    # others with its own wording; the server gives one clear message for every case.
    url = forms.CharField(label="URL", help_text=URL_HELP, strip=True,
                          widget=_text_input(inputmode="url", spellcheck="false", autofocus=True,
                                             placeholder="https://"))
    title = forms.CharField(required=False, max_length=512,
                            help_text="Left empty, it is filled from the page.",
                            widget=_text_input())
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    notes = forms.CharField(required=False, strip=False, widget=forms.Textarea(attrs={"rows": 3}))
    tags = TagListField(required=False, help_text=TAGS_HELP, widget=_tags_input())

    def clean_url(self) -> str:
        return normalize_url(self.cleaned_data["url"])


class LinkEditForm(LinkForm):
    unread = forms.BooleanField(required=False, label="Unread")
    archived = forms.BooleanField(required=False, label="Archived")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["url"].widget.attrs.pop("autofocus", None)


MAX_BULK_IDS = 500  # a list page has 30 rows; more ids than this is not a real selection


class IdListField(forms.Field):
    """Checked row ids from the list; anything that is not a positive number is refused."""
    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        values = value if isinstance(value, (list, tuple)) else ([value] if value else [])
        try:
            ids = [int(item) for item in values]
        except (TypeError, ValueError):
            raise ValidationError("The selection contains an invalid link id.") from None
        if any(item < 1 or item > 2**62 for item in ids):
            raise ValidationError("The selection contains an invalid link id.")
        if len(ids) > MAX_BULK_IDS:
            raise ValidationError(f"Select at most {MAX_BULK_IDS} links at a time.")
        return list(dict.fromkeys(ids))

    def validate(self, value) -> None:
        if not value:
            raise ValidationError("Select at least one link first.", code="required")


class BulkForm(forms.Form):
    ids = IdListField()
    action = forms.ChoiceField(choices=BULK_ACTIONS,
                               error_messages={"required": "Choose what to do with the selected links.",
                                               "invalid_choice": "Choose one of the listed bulk actions."})
    tags = TagListField(required=False)
    confirm = forms.BooleanField(required=False)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("action") in TAG_ACTIONS and not cleaned.get("tags") and "tags" not in self.errors:
            self.add_error("tags", "Enter the tags to add or remove.")
        return cleaned
