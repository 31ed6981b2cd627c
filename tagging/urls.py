"""Web pages for tags (mounted at /tags/)."""
from django.urls import path

from tagging import views
from tagging.suggestions import review_views

urlpatterns = [
    path("", views.tag_list, name="tag-list"),
    path("autocomplete/", views.tag_autocomplete, name="tag-autocomplete"),
    path("suggestions/", review_views.suggestion_review, name="suggestion-review"),
    path("suggestions/accept-above/", review_views.accept_above, name="suggestion-accept-above"),
    path("suggestions/auto-apply/", review_views.auto_apply, name="suggestion-auto-apply"),
    path("<int:pk>/rename/", views.tag_rename, name="tag-rename"),
    path("<int:pk>/merge/", views.tag_merge, name="tag-merge"),
    path("<int:pk>/delete/", views.tag_delete, name="tag-delete"),
]
