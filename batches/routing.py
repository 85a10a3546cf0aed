"""The ECC routes served by a long-poll consumer, before Django's request stack."""

from django.urls import path

from batches.events_api import EccEventsConsumer

http_urlpatterns = [path("ecc/v1/events/<str:event_type>", EccEventsConsumer.as_asgi())]
