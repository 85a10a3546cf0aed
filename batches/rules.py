"""The rules an order must satisfy, written once: checked before the order is created
(batches.services.orderability, where a refusal is the client's 4xx or the request's FAILED)
and again when it is carried out (batches.provisioning, where a refusal cancels the order,
because the records may have changed in between). Each raises a domain error."""

from django.db.models import Q, QuerySet

from batches.models import AssignedService, Service, Subscription, SubscriptionState
from batchplatform.errors import Conflict, Invalid

_IDENTIFIER_NAMES = {"iccid": "SIM", "msisdn": "MSISDN", "imsi": "IMSI"}


def check_identifiers_free(**identifiers: str | None) -> None:
    """A SIM, an MSISDN or an IMSI belongs to one subscription across all organisations."""
    for field, value in identifiers.items():
        if value and Subscription.objects.filter(**{field: value}).exists():
            raise Conflict(f"The {_IDENTIFIER_NAMES[field]} {value} is already in use")


def check_state_change(subscription: Subscription, new_state: str) -> None:
    if subscription.state == SubscriptionState.IN_USE and new_state != SubscriptionState.IN_USE:
        raise Conflict("A subscription in use cannot go back to BEFORE_FIRST_USE")


def find_service(organisation_id: int, sid: str) -> Service | None:
    # The organisation's own definition wins over a global one of the same sid.
    candidates = Service.objects.filter(Q(organisation_id=organisation_id) | Q(organisation__isnull=True), sid=sid)
    return min(candidates, key=lambda service: service.organisation_id is None, default=None)


def assignable_service(organisation_id: int, sid: str) -> Service:
    service = find_service(organisation_id, sid)
    if service is None:
        raise Invalid(f"Service {sid} not found")
    return service


def assigned_services(subscription: Subscription, sid: str, instance: str | None = None) -> QuerySet:
    """The subscription's assignments of this service (of this instance, if named): never none."""
    assigned = AssignedService.objects.filter(subscription=subscription, service__sid=sid)
    if instance:
        assigned = assigned.filter(instance=instance)
    if not assigned.exists():
        raise Invalid(f"Service {sid} is not assigned")
    return assigned
