"""Web pages of a link's tag suggestions (mounted at the site root, beside the link pages)."""
from django.urls import path

from tagging.suggestions import views as suggestion_views

urlpatterns = [
    path("links/<int:pk>/suggestions/", suggestion_views.link_suggestions, name="link-suggestions"),
    path("links/<int:pk>/suggestions/accept/", suggestion_views.accept, name="link-suggestions-accept"),
    path("links/<int:pk>/suggestions/reject/", suggestion_views.reject, name="link-suggestions-reject"),
]
