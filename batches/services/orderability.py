"""What must hold before an order is created, for a standalone request and a batch's alike."""

from batches import rules
from batches.models import Operation, Subscription
from batches.requests import ParsedRequest
from batches.selectors import find_subscription
from batchplatform.errors import NotFound
from batchplatform.models import Organisation


def check_orderable(organisation: Organisation, parsed: ParsedRequest, known=None) -> Subscription | None:
    """The subscription the order is for (None for a create), or a domain error saying why no
    order can be created: the standalone request is refused with it, a batch's request FAILS.
    `known` maps addresses to subscriptions already read (a batch's turn reads them at once)."""
    if parsed.operation == Operation.CREATE:
        # The IMSI is checked when the order is carried out (batches.provisioning), as before.
        rules.check_identifiers_free(iccid=parsed.payload["iccid"], msisdn=parsed.payload.get("msisdn"))
        return None
    if known is not None:
        subscription = known.get(parsed.address)
    else:
        subscription = find_subscription(organisation, parsed.address)
    if subscription is None:
        raise NotFound("Subscription not found")
    if parsed.operation == Operation.CHANGE_STATE:
        rules.check_state_change(subscription, parsed.payload["state"])
    if parsed.operation == Operation.ASSIGN:
        for entry in parsed.payload["services"]:
            rules.assignable_service(organisation.pk, entry["id"])
    if parsed.operation in (Operation.WITHDRAW, Operation.MODIFY):
        rules.assigned_services(subscription, parsed.payload["id"], parsed.payload.get("instance"))
    return subscription
