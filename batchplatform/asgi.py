import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "batchplatform.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.conf import settings  # noqa: E402
from django.urls import re_path  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

from batchplatform.routing import http_urlpatterns, websocket_urlpatterns  # noqa: E402


def wrapped_django_app():
    """Django's app inside the wrappers settings.ASGI_DJANGO_APP_WRAPPERS names (the first innermost)."""
    app = django_asgi_app
    for dotted_path in settings.ASGI_DJANGO_APP_WRAPPERS:
        app = import_string(dotted_path)(app)
    return app


application = ProtocolTypeRouter(
    {
        # Long-polls first (a consumer outside Django's middleware: no thread per waiting client).
        # The wrappers act on the stream before Django reads it (e.g. refusing an oversized upload).
        "http": URLRouter([*http_urlpatterns, re_path(r"", wrapped_django_app())]),
        "websocket": AllowedHostsOriginValidator(
            SessionMiddlewareStack(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
