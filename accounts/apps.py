from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Settings, feeds and webhooks"

    def ready(self) -> None:
        from accounts import webhook_events  # noqa: F401  (connects the event signal handlers)
