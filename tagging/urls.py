"""Web pages for tags (mounted at /tags/)."""
from django.urls import path

from tagging import views

urlpatterns = [
    path("", views.tag_list, name="tag-list"),
    path("autocomplete/", views.tag_autocomplete, name="tag-autocomplete"),
    path("<int:pk>/rename/", views.tag_rename, name="tag-rename"),
    path("<int:pk>/merge/", views.tag_merge, name="tag-merge"),
    path("<int:pk>/delete/", views.tag_delete, name="tag-delete"),
]
