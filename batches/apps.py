from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "batches"

    def ready(self):
        # Registers the tasks batches.dispatch sends by name, in every process (not only workers).
        import batches.tasks  # noqa: F401
        from batches.metrics import collect
        from batchplatform.metrics import register_collector

        register_collector(collect)
