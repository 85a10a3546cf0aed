import pytest
from django.http import Http404
from rest_framework.test import APIRequestFactory

from batchplatform.api.errors import ApiError
from batchplatform.models import ApiToken
from batchplatform.tenancy import resolve_organisation, scope_to_caller
from tests.factories import UserFactory


def request_by(user):
    request = APIRequestFactory().get("/")
    request.user = user
    return request


def test_an_omitted_organisation_means_the_callers(member, organisation):
    assert resolve_organisation(request_by(member), None) == organisation
    assert resolve_organisation(request_by(member), str(organisation.pk)) == organisation


@pytest.mark.parametrize("bad", ["999999", "abc"])
def test_an_unknown_organisation_is_a_404(member, bad):
    with pytest.raises(Http404):
        resolve_organisation(request_by(member), bad)


def test_another_organisation_is_a_404_for_a_member(member, other_organisation):
    with pytest.raises(Http404):
        resolve_organisation(request_by(member), str(other_organisation.pk))


def test_staff_may_act_for_any_organisation_but_must_name_it(staff, other_organisation):
    assert resolve_organisation(request_by(staff), str(other_organisation.pk)) == other_organisation
    with pytest.raises(ApiError):
        resolve_organisation(request_by(staff), None)


def test_querysets_are_scoped_to_the_callers_organisation(member, stranger, staff):
    for user in (member, stranger):
        ApiToken.objects.create(user=user, prefix=user.username, digest=user.username)
    everything = ApiToken.objects.all()
    assert list(scope_to_caller(everything, request_by(member), "user__membership__organisation")) == [
        ApiToken.objects.get(user=member)
    ]
    assert scope_to_caller(everything, request_by(staff), "user__membership__organisation").count() == 2
    orphan = UserFactory(username="nobody")
    assert scope_to_caller(everything, request_by(orphan), "user__membership__organisation").count() == 0
