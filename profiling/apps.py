from django.apps import AppConfig


class ProfilingConfig(AppConfig):
    name = "profiling"
    verbose_name = "File batches and profiles"

    def ready(self):
        from profiling.api import schema  # noqa: F401  (registers the OpenAPI extension)
