import pytest
from django.utils import timezone

from batchplatform.models import ApiToken
from batchplatform.services import create_api_token, revoke_api_token
from tests.conftest import _basic

pytestmark = pytest.mark.urls("tests.core.urls")


def test_a_raw_token_authenticates_on_v1(v1, member):
    response = v1.get("/v1/_probe")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "data": {"user": "alice"}}


def test_tokens_are_stored_hashed_and_record_last_use(client, member):
    token, raw = create_api_token(user=member)
    assert raw not in token.digest and raw.startswith(token.prefix)
    assert token.last_used_at is None
    client.get("/v1/_probe", HTTP_AUTHORIZATION=raw)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_a_revoked_token_is_refused_with_401_in_the_envelope(client, member):
    token, raw = create_api_token(user=member)
    revoke_api_token(token=token)
    response = client.get("/v1/_probe", HTTP_AUTHORIZATION=raw)
    assert response.status_code == 401
    body = response.json()
    assert body["status"] == "error" and body["error_code"] == "AUTHENTICATION_FAILED" and body["error_id"]


@pytest.mark.parametrize("header", [None, "not-a-token", "bp_" + "x" * 43, "Bearer nope"])
def test_missing_or_wrong_tokens_get_401_on_v1(client, db, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    response = client.get("/v1/_probe", **extra)
    assert response.status_code == 401
    assert response.json()["status"] == "error"
    assert response.headers["WWW-Authenticate"]


def test_an_inactive_users_token_is_refused(client, member):
    _, raw = create_api_token(user=member)
    member.is_active = False
    member.save()
    assert client.get("/v1/_probe", HTTP_AUTHORIZATION=raw).status_code == 401


@pytest.mark.parametrize("path", ["/ecc/v1/_probe", "/solutions/_probe"])
def test_basic_auth_authenticates_ecc_and_solutions(ecc, path):
    response = ecc.get(path, HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json() == {"user": "alice"}


def test_wrong_basic_credentials_get_401_in_ecc_format(client, member):
    response = client.get("/ecc/v1/_probe", HTTP_AUTHORIZATION=_basic("alice", "wrong"))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.json() == {"status": 401, "error": "AUTHENTICATION_FAILED", "message": "Invalid username/password."}


def test_wrong_basic_credentials_get_401_as_text_on_solutions(client, member):
    response = client.get("/solutions/_probe", HTTP_AUTHORIZATION=_basic("alice", "wrong"))
    assert response.status_code == 401
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == "Invalid username/password."


def test_a_token_is_not_a_basic_credential(client, member):
    _, raw = create_api_token(user=member)
    assert client.get("/ecc/v1/_probe", HTTP_AUTHORIZATION=raw).status_code == 401


def test_the_session_authenticates_the_browsable_api(client, member):
    client.force_login(member)
    response = client.get("/v1/connected_user", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"alice" in response.content


def test_last_used_is_not_rewritten_on_every_request(client, member):
    token, raw = create_api_token(user=member)
    client.get("/v1/_probe", HTTP_AUTHORIZATION=raw)
    first = ApiToken.objects.get(pk=token.pk).last_used_at
    client.get("/v1/_probe", HTTP_AUTHORIZATION=raw)
    assert ApiToken.objects.get(pk=token.pk).last_used_at == first
    assert first <= timezone.now()


def test_verified_basic_credentials_are_remembered_but_a_new_password_wins_at_once(ecc, client, member, monkeypatch):
    from django.contrib.auth import base_user

    checks = []
    original = base_user.check_password
    monkeypatch.setattr(base_user, "check_password", lambda *a, **k: checks.append(1) or original(*a, **k))
    for _ in range(3):
        assert ecc.get("/ecc/v1/_probe", HTTP_ACCEPT="application/json").status_code == 200
    assert len(checks) == 1  # the key derivation ran once, not per call

    member.set_password("a-brand-new-password-9")
    member.save()
    assert ecc.get("/ecc/v1/_probe").status_code == 401
    assert client.get("/ecc/v1/_probe", HTTP_AUTHORIZATION=_basic("alice", "a-brand-new-password-9")).status_code == 200


def test_a_deactivated_user_is_refused_even_with_remembered_credentials(ecc, member):
    assert ecc.get("/ecc/v1/_probe").status_code == 200
    member.is_active = False
    member.save()
    assert ecc.get("/ecc/v1/_probe").status_code == 401


def test_wrong_passwords_are_not_remembered(client, member):
    for _ in range(2):
        assert client.get("/ecc/v1/_probe", HTTP_AUTHORIZATION=_basic("alice", "wrong")).status_code == 401
