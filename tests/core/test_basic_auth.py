import base64

import pytest

from batchplatform.basic_auth import MalformedBasicCredentials, decode_basic_authorization

pytestmark = pytest.mark.urls("tests.core.urls")


def basic(text: str, encoding: str = "utf-8") -> str:
    return "Basic " + base64.b64encode(text.encode(encoding)).decode()


def test_a_basic_value_gives_the_username_and_the_whole_password():
    assert decode_basic_authorization(basic("ada:secret:with:colons")) == ("ada", "secret:with:colons")
    assert decode_basic_authorization(basic("ada:").encode()) == ("ada", "")


def test_latin_1_credentials_of_older_clients_are_read():
    assert decode_basic_authorization(basic("zoë:pässword", "latin-1")) == ("zoë", "pässword")


@pytest.mark.parametrize("header", ["", "Bearer abc", "Token bp_123", "bp_raw_token"])
def test_another_scheme_is_not_basic(header):
    assert decode_basic_authorization(header) is None


@pytest.mark.parametrize("header", ["Basic", "Basic a b", "Basic !!!", basic("no-colon"), basic(":no-user")])
def test_a_malformed_basic_value_is_refused(header):
    with pytest.raises(MalformedBasicCredentials):
        decode_basic_authorization(header)


def test_a_malformed_basic_header_is_a_401_in_the_surfaces_format(db, client):
    response = client.get("/ecc/v1/_probe", HTTP_AUTHORIZATION="Basic !!!")
    assert response.status_code == 401
    assert response.json()["error"] == "AUTHENTICATION_FAILED"
