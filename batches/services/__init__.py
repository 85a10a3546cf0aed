"""Every change to ECC subscriptions, orders and batches: the API, the admin, tasks and
commands all call these functions; the database rows are the truth and every step can run
twice. One module per subject; re-exported here so callers write `from batches import services`
and `services.submit_batch(...)`. Reads live in batches.selectors."""

from batches.services.engine import advance_batch
from batches.services.housekeeping import purge_batches, sweep
from batches.services.idempotency import (
    IDEMPOTENCY_ACCEPTING_TIMEOUT,
    BatchAnswer,
    request_fingerprint,
    submit_batch_once,
)
from batches.services.intake import submit_batch
from batches.services.lifecycle import (
    finish_order,
    flag_order,
    order_events,
    provision_order,
    provisioning_lease,
    wake_batches_waiting_on,
)
from batches.services.orderability import check_orderable
from batches.services.orders import cancel_order, retry_order, submit_order

__all__ = [
    "IDEMPOTENCY_ACCEPTING_TIMEOUT",
    "BatchAnswer",
    "advance_batch",
    "cancel_order",
    "check_orderable",
    "finish_order",
    "flag_order",
    "order_events",
    "provision_order",
    "provisioning_lease",
    "purge_batches",
    "request_fingerprint",
    "retry_order",
    "submit_batch",
    "submit_batch_once",
    "submit_order",
    "sweep",
    "wake_batches_waiting_on",
]
