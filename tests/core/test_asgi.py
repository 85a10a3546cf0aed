"""The ASGI application is composed from declarations: each app's routing.py long-poll routes and
the wrappers settings.ASGI_DJANGO_APP_WRAPPERS names; the core imports no app for it."""

from batchplatform import routing
from tests.asgi import AsgiClient


def test_every_apps_long_poll_routes_are_served_before_django():
    routes = {str(pattern.pattern) for pattern in routing.http_urlpatterns}
    assert {"ecc/v1/events/<str:event_type>", "solutions/longpoll/subscribe"} <= routes


def test_the_configured_wrappers_act_before_django_reads_the_body(settings, db):
    # profiling.asgi.limit_uploads, named in settings: a declared oversized upload is refused at once.
    settings.PROFILING_MAX_UPLOAD_BYTES = 10
    response = AsgiClient().post("/solutions/batch/5/profile", headers={"Content-Length": str(10**9)})
    assert response.status_code == 413
