"""Every queryset is scoped to the caller's organisation; another organisation's object is a 404."""

from django.http import Http404

from batchplatform.api.errors import ApiError
from batchplatform.converters import is_database_id
from batchplatform.models import Organisation
from batchplatform.services import organisation_of


def resolve_organisation(request, organisation_id) -> Organisation:
    """The organisation a /v1 call acts for: the caller's when omitted; another one is a 404."""
    own = organisation_of(request.user)
    if organisation_id in (None, ""):
        if own is None:
            raise ApiError(400, "organisation_id is required for a user with no organisation", "MISSING_ORGANISATION")
        return own
    if not is_database_id(organisation_id):
        raise Http404  # not an id, or one too large for the database's integers
    organisation = Organisation.objects.filter(pk=int(organisation_id)).first()
    if organisation is None:
        raise Http404
    if not request.user.is_staff and organisation != own:
        raise Http404
    return organisation


def scope_to_caller(queryset, request, field: str = "organisation"):
    """Only the caller's organisation's rows; staff see all."""
    if request.user.is_staff:
        return queryset
    own = organisation_of(request.user)
    if own is None:
        return queryset.none()
    return queryset.filter(**{field: own})
