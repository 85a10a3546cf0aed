import re

import pytest

from batchplatform.events import publish_event
from batchplatform.models import ApiToken
from batchplatform.services import authenticate_api_token


@pytest.fixture
def operator(client, staff):
    client.force_login(staff)
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/admin/",
        "/admin/batchplatform/organisation/",
        "/admin/auth/user/",
        "/admin/batchplatform/apitoken/",
        "/admin/batchplatform/event/",
        "/admin/django_celery_beat/periodictask/",
    ],
)
def test_operators_see_the_core_pages(operator, member, url):
    response = operator.get(url)
    assert response.status_code == 200
    assert b"batchplatform" in response.content


def test_a_token_added_in_the_admin_is_shown_once(operator, member):
    response = operator.post("/admin/batchplatform/apitoken/add/", {"user": member.pk, "name": "ci"}, follow=True)
    assert response.status_code == 200
    raw = re.search(rb"not be shown again\): (bp_[\w-]+)", response.content).group(1).decode()
    assert authenticate_api_token(raw).user == member
    page = operator.get(f"/admin/batchplatform/apitoken/{ApiToken.objects.get().pk}/change/")
    assert raw.encode() not in page.content


def test_revoking_from_the_admin_disables_the_token(operator, member):
    from batchplatform.services import create_api_token

    token, raw = create_api_token(user=member)
    operator.post("/admin/batchplatform/apitoken/", {"action": "revoke", "_selected_action": [token.pk]})
    assert authenticate_api_token(raw) is None


def test_events_are_read_only_in_the_admin(operator, organisation):
    event = publish_event(organisation=organisation, stream="ecc.order", name="order")
    assert operator.get(f"/admin/batchplatform/event/{event.pk}/change/").status_code == 200
    assert operator.post(f"/admin/batchplatform/event/{event.pk}/delete/").status_code == 403
    assert operator.get("/admin/batchplatform/event/add/").status_code == 403


def test_members_cannot_use_the_admin(client, member):
    client.force_login(member)
    assert client.get("/admin/").status_code == 302


def test_the_openapi_document_describes_the_api(client, db):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    document = response.json()
    assert "/v1/connected_user" in document["paths"]
    assert document["components"]["securitySchemes"]["apiToken"]["name"] == "Authorization"
    assert client.get("/api/schema/ui/").status_code == 200


def test_the_openapi_document_generates_without_warnings(db, tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--fail-on-warn", "--validate", "--file", str(tmp_path / "schema.yaml"))
    assert "/ecc/v1/batches" in (tmp_path / "schema.yaml").read_text()
