"""Guessing credentials: the 11th wrong password is refused with 429 and costs no password hash."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.hashers import get_hasher
from rest_framework.test import APIClient

from batchplatform.models import LoginLockout
from batchplatform.throttle import client_address
from tests.conftest import PASSWORD, _basic

pytestmark = pytest.mark.urls("tests.core.urls")
LIMIT = 10  # LOGIN_FAILURES_PER_USERNAME's default


@pytest.fixture
def hashes(monkeypatch):
    """Counts the password hasher's key derivations (a check of a known user's password and the
    dummy one Django runs for an unknown user both derive once)."""
    hasher_class = type(get_hasher())
    calls = []
    original = hasher_class.encode

    def counting(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(hasher_class, "encode", counting)
    return calls


def basic(username, password, address="198.51.100.1"):
    client = APIClient(REMOTE_ADDR=address)
    client.credentials(HTTP_AUTHORIZATION=_basic(username, password))
    return client


def test_the_eleventh_wrong_password_is_a_429_that_costs_no_hash(member, hashes):
    guesser = basic("alice", "wrong")
    for _ in range(LIMIT):
        assert guesser.get("/ecc/v1/_probe").status_code == 401
    assert len(hashes) == LIMIT
    refused = guesser.get("/ecc/v1/_probe")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 15 * 60
    assert refused.json()["error"] == "TOO_MANY_REQUESTS"
    assert "Too many failed sign-in attempts" in refused.json()["message"]
    assert len(hashes) == LIMIT  # refused before the hasher ran
    # Even the right password waits for the window, from anywhere: the username is locked.
    assert basic("alice", PASSWORD, "192.0.2.9").get("/ecc/v1/_probe").status_code == 429
    assert LoginLockout.objects.filter(kind="username", value="alice").exists()


def test_each_surface_refuses_in_its_own_format(member):
    for _ in range(LIMIT):
        basic("alice", "wrong").get("/solutions/_probe")
    solutions = basic("alice", "wrong").get("/solutions/_probe")
    assert solutions.status_code == 429 and solutions["Content-Type"].startswith("text/plain")
    assert solutions.content.decode().startswith("Too many failed sign-in attempts")


def test_the_right_password_works_once_the_window_is_over(member):
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False) as clock:
        for _ in range(LIMIT + 1):
            basic("alice", "wrong").get("/ecc/v1/_probe")
        assert basic("alice", PASSWORD).get("/ecc/v1/_probe").status_code == 429
        clock.shift(dt.timedelta(minutes=15, seconds=1))
        assert basic("alice", PASSWORD).get("/ecc/v1/_probe").status_code == 200


def test_another_username_from_another_address_is_unaffected(member, stranger):
    for _ in range(LIMIT + 1):
        basic("alice", "wrong", "198.51.100.1").get("/ecc/v1/_probe")
    assert basic("mallory", PASSWORD, "192.0.2.9").get("/ecc/v1/_probe").status_code == 200


def test_a_success_resets_the_usernames_count(member):
    for _ in range(LIMIT - 1):
        basic("alice", "wrong").get("/ecc/v1/_probe")
    assert basic("alice", PASSWORD).get("/ecc/v1/_probe").status_code == 200
    for _ in range(LIMIT - 1):
        assert basic("alice", "wrong").get("/ecc/v1/_probe").status_code == 401


def test_one_address_guessing_many_usernames_is_refused_past_its_own_threshold(db, settings, hashes):
    settings.LOGIN_FAILURES_PER_ADDRESS = 5
    for number in range(5):
        assert basic(f"user{number}", "wrong").get("/ecc/v1/_probe").status_code == 401
    assert basic("someone-new", "wrong").get("/ecc/v1/_probe").status_code == 429
    assert len(hashes) == 5
    assert basic("someone-new", "wrong", "192.0.2.9").get("/ecc/v1/_probe").status_code == 401


def test_remembered_credentials_keep_working_while_their_username_is_guessed(member):
    assert basic("alice", PASSWORD).get("/ecc/v1/_probe").status_code == 200  # remembered from now on
    for _ in range(LIMIT + 1):
        basic("alice", "wrong", "203.0.113.5").get("/ecc/v1/_probe")
    assert basic("alice", PASSWORD).get("/ecc/v1/_probe").status_code == 200


def test_wrong_tokens_from_one_address_are_refused_in_the_envelope(db, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = 3
    client = APIClient(REMOTE_ADDR="198.51.100.1")
    client.credentials(HTTP_AUTHORIZATION="bp_" + "x" * 43)
    for _ in range(3):
        assert client.get("/v1/_probe").status_code == 401
    refused = client.get("/v1/_probe")
    assert refused.status_code == 429 and refused["Retry-After"]
    assert refused.json()["status"] == "error" and refused.json()["error_code"] == "TOO_MANY_REQUESTS"


def test_the_client_address_comes_from_the_trusted_header_only_when_configured(rf, settings):
    request = rf.get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert client_address(request) == "10.0.0.1"
    settings.TRUSTED_PROXY_HEADER = "X-Forwarded-For"
    assert client_address(request) == "203.0.113.7"  # what our proxy saw; the left part is the client's word
    settings.TRUSTED_PROXY_COUNT = 2
    assert client_address(request) == "6.6.6.6"


def test_the_admin_login_is_locked_out_and_an_operator_clears_it(client, staff, hashes):
    for _ in range(LIMIT):
        response = client.post("/admin/login/", {"username": "operator", "password": "wrong"})
        assert response.status_code == 200 and b"correct username and password" in response.content
    hashed = len(hashes)
    locked = client.post("/admin/login/", {"username": "operator", "password": PASSWORD})
    assert locked.status_code == 429 and int(locked["Retry-After"]) > 0
    assert b"Too many failed sign-in attempts" in locked.content
    assert len(hashes) == hashed

    lockout = LoginLockout.objects.get(kind="username", value="operator")
    operator = APIClient()
    operator.force_login(staff)
    listing = operator.get("/admin/batchplatform/loginlockout/")
    assert listing.status_code == 200 and b"operator" in listing.content
    operator.post(
        "/admin/batchplatform/loginlockout/", {"action": "clear", "_selected_action": [lockout.pk]}, format="multipart"
    )
    assert not LoginLockout.objects.exists()
    logged_in = client.post("/admin/login/", {"username": "operator", "password": PASSWORD})
    assert logged_in.status_code == 302
