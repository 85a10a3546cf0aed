"""ASGI routes served before the Django app (asgi.py): the long-poll consumers each installed app
declares as `http_urlpatterns` in its own `routing.py` (batchplatform.longpoll), in the order of
INSTALLED_APPS, and websocket routes (none yet). The core names no app: it looks each one up."""

from importlib import import_module

from django.apps import apps
from django.utils.module_loading import module_has_submodule


def _declared_http_routes() -> list:
    routes = []
    for app_config in apps.get_app_configs():
        if app_config.name == __package__ or not module_has_submodule(app_config.module, "routing"):
            continue
        routes.extend(getattr(import_module(f"{app_config.name}.routing"), "http_urlpatterns", []))
    return routes


# Long-poll routes of every app; anything else goes to Django.
http_urlpatterns: list = _declared_http_routes()

websocket_urlpatterns: list = []
