from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "batchplatform"
    verbose_name = "Organisations and credentials"

    def ready(self):
        from batchplatform import signals  # noqa: F401  (counts failed sign-ins)
        from batchplatform.api import schema  # noqa: F401  (registers the OpenAPI auth schemes)
