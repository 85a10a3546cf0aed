"""Carrying out an order: the provisioner backends and the change to our own records.

`local` applies the change to our records (the API user's system of record) at once. `http`
first sends the order to a network-element endpoint (timeout, retries; a 4xx is a permanent
refusal that cancels the order) and then records the change. A failure that retries do not cure
leaves the order PROVISIONING, flagged for an operator.
"""

import json
import logging
import time
import urllib.error
import urllib.request

from django.conf import settings

from batches import rules
from batches.models import AssignedService, Operation, Order, ServiceType, Subscription
from batchplatform.errors import DomainError

logger = logging.getLogger(__name__)


class ProvisioningRefused(Exception):
    """Permanent: the order is canceled."""


class ProvisioningFailed(Exception):
    """Transient, retries exhausted: the order stays PROVISIONING for an operator."""


def _next_instance_id(subscription: Subscription) -> str:
    """a1, a2, ... per subscription, never reused: a withdrawn instance's id stays gone."""
    subscription.bucket_instances_issued += 1
    subscription.save(update_fields=["bucket_instances_issued"])
    return f"a{subscription.bucket_instances_issued}"


def _create(order: Order, payload: dict) -> Subscription:
    rules.check_identifiers_free(iccid=order.iccid, msisdn=payload.get("msisdn"), imsi=payload.get("imsi"))
    return Subscription.objects.create(
        organisation_id=order.organisation_id, iccid=order.iccid, msisdn=payload.get("msisdn"), imsi=payload.get("imsi")
    )


def _block(subscription: Subscription, payload: dict, organisation_id: int) -> None:
    subscription.blocked = payload["blocked"]
    subscription.save(update_fields=["blocked", "updated_at"])


def _change_state(subscription: Subscription, payload: dict, organisation_id: int) -> None:
    rules.check_state_change(subscription, payload["state"])
    subscription.state = payload["state"]
    subscription.save(update_fields=["state", "updated_at"])


def _assign(subscription: Subscription, payload: dict, organisation_id: int) -> None:
    for entry in payload["services"]:
        service = rules.assignable_service(organisation_id, entry["id"])
        attributes = {k: v for k, v in entry.items() if k != "id"}
        if service.multiple_instances:
            instance = _next_instance_id(subscription)
            AssignedService.objects.create(
                subscription=subscription, service=service, instance=instance, attributes=attributes
            )
        else:
            AssignedService.objects.update_or_create(
                subscription=subscription, service=service, instance="", defaults={"attributes": attributes}
            )


def _withdraw(subscription: Subscription, payload: dict, organisation_id: int) -> None:
    rules.assigned_services(subscription, payload["id"], payload.get("instance")).delete()


def _modify(subscription: Subscription, payload: dict, organisation_id: int) -> None:
    assigned = rules.assigned_services(subscription, payload["id"], payload.get("instance")).first()
    if assigned.service.service_type == ServiceType.BUCKET and "limit" in payload:
        raise ProvisioningRefused("Only recurring buckets have a limit to modify")
    assigned.attributes = {**assigned.attributes, **{k: v for k, v in payload.items() if k != "id"}}
    assigned.save(update_fields=["attributes"])


_CHANGES = {
    Operation.BLOCK: _block,
    Operation.CHANGE_STATE: _change_state,
    Operation.ASSIGN: _assign,
    Operation.WITHDRAW: _withdraw,
    Operation.MODIFY: _modify,
}


def apply_to_records(order: Order) -> Subscription:
    """The change itself, inside the caller's transaction. Raises ProvisioningRefused if the
    records no longer allow it (e.g. the service was withdrawn meanwhile)."""
    try:
        return _apply(order)
    except DomainError as refusal:  # a rule of batches.rules no longer holds
        raise ProvisioningRefused(refusal.message) from None


def _apply(order: Order) -> Subscription:
    if order.operation == Operation.CREATE:
        return _create(order, order.payload)
    subscription = Subscription.objects.select_for_update().filter(pk=order.subscription_id).first()
    if subscription is None:
        raise ProvisioningRefused("Subscription not found")
    change = _CHANGES.get(order.operation)
    if change is None:
        raise ProvisioningRefused(f"Unknown operation {order.operation}")
    change(subscription, order.payload, order.organisation_id)
    return subscription


class LocalProvisioner:
    """Our records are the network: nothing to wait for, so batches can apply orders inline."""

    inline = True

    def send(self, order: Order) -> None:
        return None


class HttpProvisioner:
    inline = False

    def __init__(self, url: str, timeout: float, retries: int, backoff: float):
        self.url, self.timeout, self.retries, self.backoff = url, timeout, retries, backoff

    def send(self, order: Order) -> None:
        body = json.dumps(
            {
                "orderid": order.pk,
                "operation": order.operation,
                "iccid": order.iccid,
                "msisdn": order.msisdn,
                "payload": order.payload,
            }
        ).encode()
        last_error = ""
        for attempt in range(self.retries + 1):
            request = urllib.request.Request(  # noqa: S310  (the URL is the operator's setting)
                self.url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "Idempotency-Key": f"order-{order.pk}"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                    response.read()
                return
            except urllib.error.HTTPError as error:
                detail = error.read(500).decode(errors="replace")
                if 400 <= error.code < 500 and error.code not in (408, 429):
                    raise ProvisioningRefused(f"Refused by the network element ({error.code}): {detail}") from None
                last_error = f"HTTP {error.code}: {detail}"
            except (urllib.error.URLError, TimeoutError, OSError) as error:
                last_error = f"{type(error).__name__}: {getattr(error, 'reason', error)}"
            if attempt < self.retries:
                time.sleep(self.backoff * (2**attempt))
        raise ProvisioningFailed(f"No answer from the network element after {self.retries + 1} attempts: {last_error}")


def get_provisioner():
    if settings.ECC_PROVISIONER == "http":
        return HttpProvisioner(
            settings.ECC_PROVISIONER_URL,
            settings.ECC_PROVISIONER_TIMEOUT,
            settings.ECC_PROVISIONER_RETRIES,
            settings.ECC_PROVISIONER_BACKOFF,
        )
    return LocalProvisioner()
