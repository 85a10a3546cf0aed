from django.apps import AppConfig


class PluginsConfig(AppConfig):
    name = "plugins"

    def ready(self):
        from batchplatform.metrics import register_collector
        from plugins import signals  # noqa: F401  (CrontabSchedule edits reach their instance)
        from plugins.metrics import collect

        register_collector(collect)
