"""ASGI routes served before the Django app (asgi.py): each area's long-poll consumers
(batchplatform.longpoll), and websocket routes (none yet)."""

from batches.routing import http_urlpatterns as batches_http
from profiling.routing import http_urlpatterns as profiling_http

# Long-poll routes of every area; anything else goes to Django.
http_urlpatterns: list = [*batches_http, *profiling_http]

websocket_urlpatterns: list = []
