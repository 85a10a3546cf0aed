"""What the OpenAPI document describes (SPECTACULAR_SETTINGS["SERVE_URLCONF"]): the project's
routes, plus descriptions of the routes served by something else than a DRF view (long-poll
consumers), which drf-spectacular cannot see. Requests are never routed with this module."""

from django.urls import include, path

from batchplatform.urls import urlpatterns as served

urlpatterns = [*served, path("", include("batches.schema_urls"))]
