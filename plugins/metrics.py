"""What /metrics says about integration batches: executions by status, and how late the oldest
due execution that has not started is."""

from django.db.models import Count, Min
from django.utils import timezone

from batchplatform.metrics import gauge
from plugins.models import Execution, ExecutionStatus


def collect():
    by_status = dict(Execution.objects.values_list("status").annotate(n=Count("id")).order_by())
    yield gauge(
        "batchplatform_executions", "Integration batch executions, by status", ["status"],
        (([status], by_status.get(status, 0)) for status in ExecutionStatus.values),
    )  # fmt: skip
    now = timezone.now()
    # The partial index execution_pending_due serves this.
    oldest = Execution.objects.filter(status=ExecutionStatus.PENDING, expected_start_date__lte=now).aggregate(
        oldest=Min("expected_start_date")
    )["oldest"]
    yield gauge(
        "batchplatform_execution_oldest_due_seconds", "How long the oldest due, unstarted execution has waited", [],
        [([], (now - oldest).total_seconds() if oldest else 0)],
    )  # fmt: skip
