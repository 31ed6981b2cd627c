from django import forms


class ImportForm(forms.Form):
    file = forms.FileField(help_text="A Netscape bookmark HTML export (browsers, linkding, Pinboard, Pocket, "
                                     "Karakeep, Linkwarden) or a Linkshot JSON export.")
    folders_as_tags = forms.BooleanField(required=False, label="Use folder names as tags")
