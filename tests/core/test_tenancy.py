import pytest

from batchplatform.errors import Invalid, NotFound
from batchplatform.models import ApiToken
from batchplatform.tenancy import get_or_not_found, resolve_organisation, scope_to_user
from tests.factories import UserFactory


def test_an_omitted_organisation_means_the_users(member, organisation):
    assert resolve_organisation(user=member, organisation_id=None) == organisation
    assert resolve_organisation(user=member, organisation_id=str(organisation.pk)) == organisation


@pytest.mark.parametrize("bad", ["999999", "abc", "9" * 30])
def test_an_unknown_organisation_is_not_found(member, bad):
    with pytest.raises(NotFound):
        resolve_organisation(user=member, organisation_id=bad)


def test_another_organisation_is_not_found_for_a_member(member, other_organisation):
    with pytest.raises(NotFound):
        resolve_organisation(user=member, organisation_id=str(other_organisation.pk))


def test_staff_may_act_for_any_organisation_but_must_name_it(staff, other_organisation):
    assert resolve_organisation(user=staff, organisation_id=str(other_organisation.pk)) == other_organisation
    with pytest.raises(Invalid) as refused:
        resolve_organisation(user=staff, organisation_id=None)
    assert refused.value.code == "MISSING_ORGANISATION"


def test_querysets_are_scoped_to_the_users_organisation(member, stranger, staff):
    for user in (member, stranger):
        ApiToken.objects.create(user=user, prefix=user.username, digest=user.username)
    everything = ApiToken.objects.all()
    assert list(scope_to_user(everything, user=member, field="user__membership__organisation")) == [
        ApiToken.objects.get(user=member)
    ]
    assert scope_to_user(everything, user=staff, field="user__membership__organisation").count() == 2
    orphan = UserFactory(username="nobody")
    assert scope_to_user(everything, user=orphan, field="user__membership__organisation").count() == 0


def test_a_row_outside_the_scope_is_not_found(member, stranger):
    theirs = ApiToken.objects.create(user=stranger, prefix="theirs", digest="theirs")
    mine = scope_to_user(ApiToken.objects.all(), user=member, field="user__membership__organisation")
    with pytest.raises(NotFound):
        get_or_not_found(mine, pk=theirs.pk)
