from django.apps import AppConfig


class BatchesConfig(AppConfig):
    name = "batches"

    def ready(self):
        from batches.metrics import collect
        from batchplatform.metrics import register_collector

        register_collector(collect)
