"""The sweep: one periodic task turns due cron ticks into executions and sends what is due.

Instances do not get a beat entry each (PITFALLS.md: beat misses 98.7% of ticks at 10,000).
Instead each instance keeps its next tick in an indexed column; the sweep claims the due ones
(`select_for_update(skip_locked=True)`), creates their CRON executions in bulk with
`expected_start_date` = the tick, advances the column, commits, and sends. Its cost follows what is
due, not how many instances exist.

Several sweeps at once (two beats by mistake, a slow sweep overlapping the next) take disjoint
rows: a tick is created by the transaction that advances its instance's next tick, so it is
created once (the unique constraint on (instance, expected_start_date) is the last word), and a
sweep that dies before committing leaves its rows due for the next one, so none is lost.

Ticks that came while no sweep ran (the platform was down):
- the ones within the instance's starting deadline (default: one period, i.e. until the next tick
  comes) run late;
- the others are recorded as CANCELED executions, "missed: platform down": at most
  CATCH_UP_TICKS of them one by one, the rest collapsed into one record that says how many.

Overlap (Kubernetes CronJob's concurrencyPolicy): FORBID records the tick as CANCELED "previous
still running" while an earlier execution is running or waiting; ALLOW runs both; REPLACE cancels
the earlier one (`services.cancel_execution`: the runner stops a RUNNING one). A processor's
executions (`services.start_processor_execution`, which carry inputs or parameters) are outside
the policy: they neither make a tick overlap nor get replaced.

Sending: PENDING executions that are due and were never sent (new CRON ones, future MANUAL ones
whose time came) or were sent long ago and are still PENDING (the message was lost) are claimed,
stamped (`sent_at`) and sent through plugins.dispatch.
"""

import logging
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from batchplatform.errors import Conflict
from plugins.cron import CronError, TimezoneError, next_tick, previous_tick
from plugins.dispatch import largest_size, queue_for, send_run_messages
from plugins.models import (
    CronStatus,
    Execution,
    ExecutionStatus,
    ExecutionType,
    IntegrationBatchInstance,
    OverlapPolicy,
)
from plugins.signals import announce_finished

logger = logging.getLogger(__name__)

MISSED = "missed: platform down"
OVERLAPPED = "previous still running"
# Counting the ticks of a long outage stops here ("at least N").
COUNT_LIMIT = 10_000


@dataclass
class TickPlan:
    """What one instance's due ticks become, for its next tick and deadline (cached per sweep)."""

    run: list[datetime] = field(default_factory=list)
    missed: list[datetime] = field(default_factory=list)
    # (first tick, last tick, how many) of missed ticks not recorded one by one.
    collapsed: tuple[datetime, datetime, int, bool] | None = None
    next_tick_at: datetime | None = None


def plan_ticks(
    *, cron: str, zone: str, due: datetime, deadline_seconds: int | None, now: datetime, catch_up: int
) -> TickPlan:
    """Ticks from `due` (the instance's next tick, <= now) to now: which run, which are recorded as
    missed, and the next tick after now."""
    following = next_tick(cron, after=due, zone=zone)
    if following > now:
        # The usual case: exactly one tick is due. Within the default deadline it runs as long as
        # the next tick has not come, which is the case here.
        on_time = deadline_seconds is None or (now - due).total_seconds() <= deadline_seconds
        return TickPlan(run=[due] if on_time else [], missed=[] if on_time else [due], next_tick_at=following)
    # Several ticks came while no sweep ran: walk back from now over at most `catch_up` of them.
    plan = TickPlan(next_tick_at=next_tick(cron, after=now, zone=zone))
    recent: list[datetime] = []
    tick = previous_tick(cron, before=now, zone=zone)
    while tick >= due and len(recent) < catch_up:
        recent.append(tick)
        tick = previous_tick(cron, before=tick - timedelta(microseconds=1), zone=zone)
    recent.reverse()
    latest = recent[-1]
    for tick in recent:
        if deadline_seconds is None:
            runnable = tick == latest  # one period: only the latest tick's next has not come yet
        else:
            runnable = (now - tick).total_seconds() <= deadline_seconds
        (plan.run if runnable else plan.missed).append(tick)
    if recent[0] > due:
        # Older ticks than the walk reached: one record, at the first of them, says how many.
        last_older = previous_tick(cron, before=recent[0] - timedelta(microseconds=1), zone=zone)
        count, tick = 1, due
        while tick < last_older and count < COUNT_LIMIT:
            tick = next_tick(cron, after=tick, zone=zone)
            count += 1
        plan.collapsed = (due, last_older, count, tick < last_older)
    return plan


def _missed_error(collapsed=None) -> dict:
    if collapsed is None:
        return {"message": MISSED}
    first, last, count, more = collapsed
    return {
        "message": MISSED,
        "detail": (
            f"{'at least ' if more else ''}{count} tick(s) from {first.isoformat()} to {last.isoformat()} "
            "were missed while the platform was down; this record stands for all of them"
        ),
        "missed_ticks": count,
    }


def _claim_due_instances(now: datetime, limit: int) -> list:
    """Due instances, locked until commit; rows (named tuples), not models: the sweep reads
    thousands a second."""
    return list(
        IntegrationBatchInstance.objects.filter(cron_status=CronStatus.ACTIVE, archived=False, next_tick_at__lte=now)
        .order_by("next_tick_at")
        .select_for_update(skip_locked=True)
        .values_list(
            "id",
            "organisation_id",
            "version_id",
            "cron",
            "timezone",
            "overlap_policy",
            "starting_deadline_seconds",
            "next_tick_at",
            named=True,
        )[:limit]
    )


def _unfinished_by_instance(instance_ids: list[int], before: datetime) -> dict[int, list[Execution]]:
    """Executions that make a tick overlap: running, or waiting with an earlier expected start."""
    unfinished = defaultdict(list)
    # The explicit status__in lets PostgreSQL use the small partial index execution_unfinished
    # instead of walking each instance's whole history.
    rows = (
        Execution.objects.filter(
            instance_id__in=instance_ids, status__in=[ExecutionStatus.PENDING, ExecutionStatus.RUNNING]
        )
        .filter(Q(status=ExecutionStatus.RUNNING) | Q(expected_start_date__lt=before))
        # A processor's executions (submissions, with inputs or parameters) run side by side by design:
        # the overlap policy neither skips a tick for them nor replaces them.
        .filter(inputs={}, parameters={})
    )
    for execution in rows.only("id", "instance_id", "status", "expected_start_date"):
        unfinished[execution.instance_id].append(execution)
    return unfinished


def _plans_for(instances, *, now: datetime, report: Counter) -> dict[int, TickPlan]:
    catch_up = settings.SCHEDULER_CATCH_UP_TICKS
    plans: dict[int, TickPlan] = {}
    # Instances on the same cron and tick share a plan: the cost follows distinct schedules.
    cache: dict[tuple, TickPlan] = {}
    for instance in instances:
        key = (instance.cron, instance.timezone, instance.next_tick_at, instance.starting_deadline_seconds)
        if key not in cache:
            try:
                cache[key] = plan_ticks(
                    cron=instance.cron,
                    zone=instance.timezone,
                    due=instance.next_tick_at,
                    deadline_seconds=instance.starting_deadline_seconds,
                    now=now,
                    catch_up=catch_up,
                )
            except (CronError, TimezoneError) as error:
                # Only a write that skipped the service's checks gets here: unschedule, say why.
                logger.error("instance %s is unscheduled: %s", instance.id, error)
                cache[key] = TickPlan()
                report["unschedulable"] += 1
        plans[instance.id] = cache[key]
    return plans


class _NewExecutions:
    """The rows one sweep transaction will insert, never two on one (instance, tick)."""

    def __init__(self, *, taken: set, now: datetime, report: Counter):
        self.taken, self.now, self.report = taken, now, report
        self.rows: list[Execution] = []

    def record(self, instance, tick, status=ExecutionStatus.PENDING, error=None) -> Execution | None:
        if (instance.id, tick) in self.taken:
            return None  # a manual execution already sits on this tick and stands for it
        self.taken.add((instance.id, tick))
        execution = Execution(
            organisation_id=instance.organisation_id,
            instance_id=instance.id,
            version_id=instance.version_id,
            execution_type=ExecutionType.CRON,
            expected_start_date=tick,
            status=status,
            error=error,
            end_date=self.now if status == ExecutionStatus.CANCELED else None,
        )
        self.rows.append(execution)
        return execution

    def add_ticks(self, instance, plan: TickPlan, unfinished: list[Execution]) -> None:
        if plan.collapsed:
            self.record(instance, plan.collapsed[0], ExecutionStatus.CANCELED, _missed_error(plan.collapsed))
            self.report["missed"] += 1
        for tick in plan.missed:
            self.record(instance, tick, ExecutionStatus.CANCELED, _missed_error())
            self.report["missed"] += 1
        first_run = plan.run[0] if plan.run else self.now
        running = [e for e in unfinished if e.status == ExecutionStatus.RUNNING or e.expected_start_date < first_run]
        for tick in plan.run:
            if running and instance.overlap_policy == OverlapPolicy.FORBID:
                self.record(instance, tick, ExecutionStatus.CANCELED, {"message": OVERLAPPED})
                self.report["skipped_overlap"] += 1
                continue
            if running and instance.overlap_policy == OverlapPolicy.REPLACE:
                self.replace(running)
                running = []
            created = self.record(instance, tick)
            if created is not None:
                running.append(created)
                self.report["created"] += 1

    def replace(self, running: list[Execution]) -> None:
        from plugins import services

        for execution in running:
            if execution.pk is None:
                # An earlier tick of this same sweep: replaced before it was ever written.
                execution.status, execution.end_date = ExecutionStatus.CANCELED, self.now
                execution.error = {"message": "replaced by a later tick"}
                self.report["created"] -= 1
            else:
                try:
                    services.cancel_execution(execution=execution)
                except Conflict:
                    continue  # it finished meanwhile
            self.report["replaced"] += 1


def sweep_due_instances(*, now: datetime, limit: int, report: Counter) -> int:
    """One transaction: claim up to `limit` due instances, create their executions, advance them."""
    if not IntegrationBatchInstance.objects.filter(
        cron_status=CronStatus.ACTIVE, archived=False, next_tick_at__lte=now
    ).exists():
        return 0  # the usual second: no transaction, no lock (SQLite takes its write lock at BEGIN)
    with transaction.atomic():
        instances = _claim_due_instances(now, limit)
        if not instances:
            return 0
        plans = _plans_for(instances, now=now, report=report)
        ids = [instance.id for instance in instances]
        all_ticks = {tick for plan in plans.values() for tick in (*plan.run, *plan.missed)}
        all_ticks |= {plan.collapsed[0] for plan in plans.values() if plan.collapsed}
        taken = set(
            Execution.objects.filter(instance_id__in=ids, expected_start_date__in=all_ticks).values_list(
                "instance_id", "expected_start_date"
            )
        )
        runs = [plan.run[-1] for plan in plans.values() if plan.run]
        unfinished = _unfinished_by_instance(ids, max(runs)) if runs else {}
        new = _NewExecutions(taken=taken, now=now, report=report)
        for instance in instances:
            new.add_ticks(instance, plans[instance.id], unfinished.get(instance.id, []))
        Execution.objects.bulk_create(new.rows, batch_size=1000)
        # Missed, overlapping and replaced ticks are born ended: their end is announced like any other.
        announce_finished(
            (row.pk, row.status) for row in new.rows if row.status == ExecutionStatus.CANCELED and row.pk is not None
        )
        # Instances sharing a schedule share their next tick: one UPDATE per distinct value.
        by_next_tick = defaultdict(list)
        for instance in instances:
            by_next_tick[plans[instance.id].next_tick_at].append(instance.id)
        for next_tick_at, group in by_next_tick.items():
            IntegrationBatchInstance.objects.filter(pk__in=group).update(next_tick_at=next_tick_at)
        report["instances"] += len(instances)
    return len(instances)


def send_due_executions(*, now: datetime, limit: int, report: Counter) -> int:
    """Claims (stamps `sent_at`) and sends up to `limit` due PENDING executions that were never
    sent or whose message seems lost. Returns how many were sent."""
    resend_before = now - timedelta(seconds=settings.SCHEDULER_RESEND_AFTER)
    due = Q(status=ExecutionStatus.PENDING, expected_start_date__lte=now)
    pending = Execution.objects.filter(due)
    if not (pending.filter(sent_at__isnull=True).exists() or pending.filter(sent_at__lt=resend_before).exists()):
        return 0
    with transaction.atomic():
        # Two queries, one per partial index, rather than an OR neither index serves.
        unsent = list(
            Execution.objects.filter(due, sent_at__isnull=True)
            .order_by("expected_start_date")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        lost = []
        if len(unsent) < limit:
            lost = list(
                Execution.objects.filter(due, sent_at__lt=resend_before)
                .order_by("sent_at")
                .select_for_update(skip_locked=True)
                .values_list("id", flat=True)[: limit - len(unsent)]
            )
        ids = unsent + lost
        if not ids:
            return 0
        # The stamp is the claim: another sweep's query no longer matches these rows.
        Execution.objects.filter(pk__in=ids).update(sent_at=timezone.now())
    sizes = Execution.objects.filter(pk__in=ids).values_list(
        "id", "instance__ram_size", "instance__cpu_size", "instance__disk_size"
    )
    send_run_messages([(pk, queue_for(largest_size(*instance_sizes))) for pk, *instance_sizes in sizes])
    report["sent"] += len(unsent)
    report["resent"] += len(lost)
    return len(ids)


def sweep(*, time_budget: float | None = None) -> dict:
    """What the periodic task runs: due ticks first, then sending, in batches, within a time budget
    (the next sweep, a second later, carries on where this one stopped)."""
    budget = time_budget if time_budget is not None else settings.SCHEDULER_SWEEP_BUDGET
    batch = settings.SCHEDULER_BATCH_SIZE
    started = time.monotonic()
    report: Counter = Counter()
    while True:
        now = timezone.now()
        claimed = sweep_due_instances(now=now, limit=batch, report=report)
        sent = send_due_executions(now=now, limit=batch, report=report)
        if (claimed < batch and sent < batch) or time.monotonic() - started > budget:
            break
    return dict(report)


# --- What operators read (`manage.py schedule_status`) ---------------------------------------


def schedule_status(*, now: datetime, late_after: float, limit: int) -> dict:
    """What is due and what is late, from the rows alone (no beat or worker is asked)."""
    late_before = now - timedelta(seconds=late_after)
    scheduled = IntegrationBatchInstance.objects.filter(cron_status=CronStatus.ACTIVE, archived=False)
    due = scheduled.filter(next_tick_at__lte=now)
    late = due.filter(next_tick_at__lte=late_before)
    pending_due = Execution.objects.filter(status=ExecutionStatus.PENDING, expected_start_date__lte=now)
    unsent = pending_due.filter(sent_at__isnull=True)
    resend_before = now - timedelta(seconds=settings.SCHEDULER_RESEND_AFTER)
    return {
        "now": now,
        "due_instances": due.count(),
        "late_instances": late.count(),
        "late": list(late.order_by("next_tick_at").values("id", "name", "cron", "timezone", "next_tick_at")[:limit]),
        "unscheduled_active_instances": scheduled.filter(cron__isnull=False, next_tick_at__isnull=True).count(),
        "next_tick_at": scheduled.filter(next_tick_at__gt=now)
        .order_by("next_tick_at")
        .values_list("next_tick_at", flat=True)
        .first(),
        "unsent_due_executions": unsent.count(),
        "late_unsent": list(
            unsent.filter(expected_start_date__lte=late_before)
            .order_by("expected_start_date")
            .values("id", "instance_id", "execution_type", "expected_start_date")[:limit]
        ),
        "sent_not_started": pending_due.filter(sent_at__isnull=False).count(),
        "lost_messages": pending_due.filter(sent_at__lt=resend_before).count(),
        "running": Execution.objects.filter(status=ExecutionStatus.RUNNING).count(),
    }
