from django import forms

from accounts.models import Webhook


class CaptureSettingsForm(forms.Form):
    recapture_interval_days = forms.IntegerField(
        required=False, min_value=1, max_value=3650, label="Capture every link again every … days",
        help_text="Empty: never (each link keeps the snapshots it has).")


class WebhookForm(forms.Form):
    url = forms.CharField(label="Target URL", max_length=2048, widget=forms.TextInput(attrs={"placeholder": "https://"}))
    events = forms.MultipleChoiceField(choices=Webhook.Event.choices, required=False,
                                       widget=forms.CheckboxSelectMultiple, help_text="None ticked: every event.")
