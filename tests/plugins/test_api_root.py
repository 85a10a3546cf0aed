"""GET /v1/ lists the API's resources: links in the envelope for a program, a page of links in a browser."""

from tests.openapi import assert_documented

RESOURCES = ["plugins", "integration_batch_instances", "integration_batch_instances.executions", "connected_user"]


def test_the_root_lists_every_resource_in_the_envelope(v1):
    answer = v1.get("/v1/")
    assert answer.status_code == 200
    assert_documented(answer)
    body = answer.json()
    assert body["status"] == "ok"
    assert list(body["data"]) == RESOURCES
    assert body["data"]["plugins"] == "http://testserver/v1/plugins"


def test_every_link_of_the_root_opens(v1):
    for url in v1.get("/v1/").json()["data"].values():
        assert v1.get(url).status_code == 200, url


def test_a_person_in_a_browser_gets_a_page_of_links(client, staff):
    client.force_login(staff)
    page = client.get("/v1/", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert page["Content-Type"].startswith("text/html")
    html = page.content.decode()
    for name in RESOURCES:
        assert f'href="http://testserver/v1/{name}"' in html


def test_the_root_without_a_credential_is_a_401_in_the_envelope(client, db):
    answer = client.get("/v1/")
    assert answer.status_code == 401
    assert answer.json()["status"] == "error"


def test_every_v1_resource_renders_as_a_page_in_a_browser(client, staff, version):
    client.force_login(staff)
    plugin_id = version.plugin_id
    for url in (
        "/v1/plugins",
        f"/v1/plugins/{plugin_id}",
        f"/v1/plugins/{plugin_id}/versions",
        f"/v1/plugins/{plugin_id}/versions/1.0.0",
        "/v1/integration_batch_instances",
        "/v1/integration_batch_instances.executions",
    ):
        page = client.get(url, HTTP_ACCEPT="text/html")
        assert page.status_code == 200, url
        assert page["Content-Type"].startswith("text/html"), url
