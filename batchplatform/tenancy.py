"""Every queryset is scoped to the caller's organisation; another organisation's object is not found.

Domain arguments only (a user, ids) and domain errors (batchplatform.errors): a task or a command
with no request calls these too, and each surface turns NotFound into its own 404.
"""

from batchplatform.converters import is_database_id
from batchplatform.errors import Invalid, NotFound
from batchplatform.models import Organisation
from batchplatform.services import organisation_of

NOT_FOUND = "Not found."


def resolve_organisation(*, user, organisation_id) -> Organisation:
    """The organisation a call acts for: the user's when omitted; another one is not found."""
    own = organisation_of(user)
    if organisation_id in (None, ""):
        if own is None:
            raise Invalid("organisation_id is required for a user with no organisation", "MISSING_ORGANISATION")
        return own
    if not is_database_id(organisation_id):
        raise NotFound(NOT_FOUND)  # not an id, or one too large for the database's integers
    organisation = Organisation.objects.filter(pk=int(organisation_id)).first()
    if organisation is None or (not user.is_staff and organisation != own):
        raise NotFound(NOT_FOUND)
    return organisation


def scope_to_user(queryset, *, user, field: str = "organisation"):
    """Only the user's organisation's rows; staff see all."""
    if user.is_staff:
        return queryset
    own = organisation_of(user)
    if own is None:
        return queryset.none()
    return queryset.filter(**{field: own})


def get_or_not_found(queryset, **lookup):
    """The one row of `queryset` matching `lookup`, or NotFound (a 404 on every surface)."""
    found = queryset.filter(**lookup).first()
    if found is None:
        raise NotFound(NOT_FOUND)
    return found
