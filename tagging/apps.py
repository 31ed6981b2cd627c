from django.apps import AppConfig


class TaggingConfig(AppConfig):
    name = "tagging"
    verbose_name = "Tags"

    def ready(self) -> None:
        from tagging import receivers  # models are ready only now

        receivers.connect()
