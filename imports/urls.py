from django.urls import path

from imports import views

urlpatterns = [
    path("", views.import_start, name="import-start"),
    path("<int:pk>/", views.import_detail, name="import-detail"),
    path("<int:pk>/progress/", views.import_progress, name="import-progress"),
    path("export/<str:kind>/", views.export_download, name="export-download"),
]
