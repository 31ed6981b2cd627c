from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.settings_page, name="settings"),
    path("api-token/", views.regenerate_api_token, name="settings-api-token"),
    path("feed-token/", views.regenerate_feed_token, name="settings-feed-token"),
    path("password/", views.change_password, name="settings-password"),
    path("capture/", views.capture_settings, name="settings-capture"),
    path("webhooks/", views.add_webhook, name="settings-webhook-add"),
    path("webhooks/<int:pk>/delete/", views.delete_webhook, name="settings-webhook-delete"),
    path("webhooks/<int:pk>/test/", views.test_webhook, name="settings-webhook-test"),
]
