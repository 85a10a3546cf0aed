"""The /solutions routes served by a long-poll consumer, before Django's request stack."""

from django.urls import path

from profiling.subscriptions import ProfilingSubscriptionConsumer

http_urlpatterns = [path("solutions/longpoll/subscribe", ProfilingSubscriptionConsumer.as_asgi())]
