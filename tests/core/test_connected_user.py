def test_connected_user_tells_who_and_for_which_organisation(v1, member, organisation):
    response = v1.get("/v1/connected_user")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["data"]["id"] == str(member.pk)
    assert body["data"]["username"] == "alice"
    assert body["data"]["organisation_id"] == str(organisation.pk)
    assert body["data"]["workspaces"][0]["organisation_slug"] == "acme"


def test_connected_user_needs_a_credential(client, db):
    response = client.get("/v1/connected_user")
    assert response.status_code == 401
    assert response.json()["error_code"] == "NOT_AUTHENTICATED"
