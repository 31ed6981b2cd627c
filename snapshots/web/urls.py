"""Web pages for links (mounted at the site root)."""
from django.urls import path

from snapshots.web import views

urlpatterns = [
    path("", views.link_list, name="link-list"),
    path("add/", views.link_add, name="link-add"),
    path("links/bulk/", views.link_bulk, name="link-bulk"),
    path("links/<int:pk>/", views.link_detail, name="link-detail"),
    path("links/<int:pk>/edit/", views.link_edit, name="link-edit"),
    path("links/<int:pk>/delete/", views.link_delete, name="link-delete"),
    path("links/<int:pk>/recapture/", views.link_recapture, name="link-recapture"),
    path("links/<int:pk>/status/", views.link_status, name="link-status"),
]
