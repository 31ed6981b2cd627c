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


class AcceptAboveForm(forms.Form):
    """Bulk accept on the review page: every pending suggestion scoring at least this many percent."""

    OUT_OF_RANGE = "Use a whole number of percent from 0 to 100."
    min_score = forms.IntegerField(label="Score at least (%)", min_value=0, max_value=100,
                                   error_messages={"required": "Give the lowest score to accept, 0 to 100 percent.",
                                                   "invalid": OUT_OF_RANGE, "min_value": OUT_OF_RANGE,
                                                   "max_value": OUT_OF_RANGE})
    tag = forms.CharField(required=False, strip=True)


class AutoApplyForm(forms.Form):
    """The per-person auto-apply threshold, in percent; empty turns it off."""

    OUT_OF_RANGE = "Use a whole number of percent from 1 to 100, or leave it empty to turn it off."
    auto_apply = forms.IntegerField(label="Apply automatically at (%)", required=False, min_value=1, max_value=100,
                                    error_messages={"invalid": OUT_OF_RANGE, "min_value": OUT_OF_RANGE,
                                                    "max_value": OUT_OF_RANGE})
