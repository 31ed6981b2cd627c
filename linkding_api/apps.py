from django.apps import AppConfig


class LinkdingApiConfig(AppConfig):
    name = "linkding_api"
    verbose_name = "linkding-compatible REST API"
