"""Web forms for the tag vocabulary: validation only; changes go through tagging.services."""
from __future__ import annotations

from django import forms

from tagging.models import Tag
from tagging.names import clean_tag_name


class RenameTagForm(forms.Form):
    name = forms.CharField(label="New name", strip=False,
                           widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "off"}))

    def clean_name(self) -> str:
        return clean_tag_name(self.cleaned_data["name"])


class MergeTagForm(forms.Form):
    into = forms.ModelChoiceField(
        queryset=Tag.objects.none(), label="Merge into", empty_label="Choose a tag…",
        error_messages={"required": "Choose the tag to merge into.",
                        "invalid_choice": "Choose one of your other tags."},
    )

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        # Only the owner's other tags are choices, so another person's tag id is refused.
        self.fields["into"].queryset = candidates
