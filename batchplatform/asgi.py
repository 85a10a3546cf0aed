import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "batchplatform.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402  (needs Django set up)
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from channels.sessions import SessionMiddlewareStack  # noqa: E402
from django.urls import re_path  # noqa: E402

from batchplatform.routing import http_urlpatterns, websocket_urlpatterns  # noqa: E402
from profiling.asgi import limit_uploads  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Long-polls first (a consumer outside Django's middleware: no thread per waiting client).
        # limit_uploads refuses an oversized zip to /solutions/batch/ while it streams.
        "http": URLRouter([*http_urlpatterns, re_path(r"", limit_uploads(django_asgi_app))]),
        "websocket": AllowedHostsOriginValidator(
            SessionMiddlewareStack(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)
