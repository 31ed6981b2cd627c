"""Routes that serve captured snapshot assets (owner-checked, sandboxed)."""
from django.urls import path

from snapshots.replay import views

urlpatterns = [
    path("<int:pk>/<str:asset>/", views.snapshot_asset, name="snapshot-asset"),
    # Only answered on LINKSHOT_SNAPSHOT_ORIGIN: the token stands in for the app's session there.
    path("shared/<str:token>/", views.signed_snapshot_asset, name="snapshot-asset-signed"),
]
