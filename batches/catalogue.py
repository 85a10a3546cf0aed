"""The service catalogue: the global teleservices and supplementary services come from the
reference (a data migration); each organisation's buckets are defined at onboarding, from the
admin or `manage.py defineservice`."""

from django.db import IntegrityError, transaction

from batches.models import Service, ServiceType
from batches.requests import SID_PATTERN
from batchplatform.errors import Conflict, Invalid
from batchplatform.models import Organisation

# The ids the API accepts in a request (batches.requests), so every defined service can be assigned.
ORGANISATION_SERVICE_TYPES = (ServiceType.BUCKET, ServiceType.RECURRING_BUCKET)
DESCRIPTION_MAX_LENGTH = Service._meta.get_field("description").max_length


def check_definition(*, organisation: Organisation | None, sid: str, service_type: str, description: str = "") -> None:
    """What define_service checks before writing; the admin form shows the same errors."""
    if organisation is None:
        raise Invalid("A bucket belongs to an organisation; the global services come from the reference")
    if not isinstance(sid, str) or not SID_PATTERN.fullmatch(sid):
        raise Invalid(f"Invalid service id {sid!r}: 1 to 100 letters, digits, '.', '_' or '-'")
    if service_type not in ORGANISATION_SERVICE_TYPES:
        raise Invalid(f"Invalid service type {service_type!r}: expected bucket or recurring-bucket")
    if len(description) > DESCRIPTION_MAX_LENGTH:
        raise Invalid(f"The description is longer than {DESCRIPTION_MAX_LENGTH} characters")
    # Case-sensitive, as the API matches sids; a global sid would be shadowed for this organisation.
    if Service.objects.filter(organisation__isnull=True, sid=sid).exists():
        raise Conflict(f"{sid!r} is a global service id", "SERVICE_EXISTS")
    if Service.objects.filter(organisation=organisation, sid=sid).exists():
        raise Conflict(f"{organisation.slug!r} already has a service {sid!r}", "SERVICE_EXISTS")


def define_service(
    *,
    organisation: Organisation,
    sid: str,
    service_type: str,
    multiple_instances: bool = False,
    description: str = "",
) -> Service:
    """An organisation's bucket or recurring bucket. Invalid for a bad sid or type, Conflict for a
    sid that organisation already has or that a global service uses."""
    check_definition(organisation=organisation, sid=sid, service_type=service_type, description=description)
    try:
        with transaction.atomic():
            return Service.objects.create(
                organisation=organisation,
                sid=sid,
                service_type=service_type,
                multiple_instances=multiple_instances,
                description=description,
            )
    except IntegrityError:
        # Defined concurrently since the check.
        raise Conflict(f"{organisation.slug!r} already has a service {sid!r}", "SERVICE_EXISTS") from None
