from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "batchplatform"
    verbose_name = "Organisations and credentials"
