"""Fixtures that encode who may see what: a member of one organisation, and a stranger from another."""

import pytest
from rest_framework.test import APIClient

from batchplatform.services import create_api_token
from tests.factories import MemberFactory, OrganisationFactory, UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _forget_remembered_credentials():
    """Verified Basic credentials are remembered per process: no test inherits another's."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def organisation(db):
    return OrganisationFactory(slug="acme")


@pytest.fixture
def other_organisation(db):
    return OrganisationFactory(slug="globex")


@pytest.fixture
def member(organisation):
    return MemberFactory(username="alice", organisation=organisation)


@pytest.fixture
def stranger(other_organisation):
    return MemberFactory(username="mallory", organisation=other_organisation)


@pytest.fixture
def staff(db):
    return UserFactory(username="operator", is_staff=True, is_superuser=True)


def token_client(user) -> APIClient:
    _, raw = create_api_token(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=raw)
    client.raw_token = raw
    return client


def basic_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=_basic(user.username, PASSWORD))
    return client


def _basic(username: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


@pytest.fixture
def v1(member) -> APIClient:
    """The member's /v1 client: `Authorization: <raw token>`."""
    return token_client(member)


@pytest.fixture
def v1_stranger(stranger) -> APIClient:
    return token_client(stranger)


@pytest.fixture
def v1_staff(staff) -> APIClient:
    return token_client(staff)


@pytest.fixture
def ecc(member) -> APIClient:
    """The member's HTTP Basic client, as /ecc and /solutions clients send."""
    return basic_client(member)


@pytest.fixture
def ecc_stranger(stranger) -> APIClient:
    return basic_client(stranger)
