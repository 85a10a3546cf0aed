"""An instance's schedule: its next tick, and its cron mirrored in django-celery-beat's
CrontabSchedule (where operators edit it) both ways.

The instance row is what the sweep reads; the CrontabSchedule is its editable face. No beat
entry is made per instance (PITFALLS.md: beat misses most ticks at 10,000 entries).
"""

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import Case, CharField, F, Q, Value, When
from django.db.models.functions import Concat
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule

from batchplatform.errors import Invalid
from plugins.cron import (
    MACRO_FIELDS,
    CronError,
    TimezoneError,
    cron_fields,
    next_tick,
    validate_cron,
    validate_timezone,
)
from plugins.models import CronStatus, IntegrationBatchInstance, OverlapPolicy

logger = logging.getLogger(__name__)

CRONTAB_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")


def check_timezone(name) -> str:
    try:
        return validate_timezone(name)
    except TimezoneError as error:
        raise Invalid(str(error), "INVALID_TIMEZONE") from None


def check_overlap_policy(policy) -> str:
    if policy not in OverlapPolicy.values:
        raise Invalid(
            f"overlap_policy must be one of {', '.join(OverlapPolicy.values)}, not {policy!r}", "INVALID_OVERLAP_POLICY"
        )
    return policy


def check_starting_deadline(seconds) -> int | None:
    if seconds is None:
        return None
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds < 10:
        raise Invalid(
            "starting_deadline_seconds must be a whole number of seconds, at least 10 (or null: one period)",
            "INVALID_STARTING_DEADLINE",
        )
    return seconds


def is_scheduled(instance: IntegrationBatchInstance) -> bool:
    return instance.cron is not None and instance.cron_status == CronStatus.ACTIVE and not instance.archived


def first_tick_after(instance: IntegrationBatchInstance, now: datetime) -> datetime | None:
    """Where a (re)started schedule begins: the first tick after now, nothing missed replayed."""
    if not is_scheduled(instance):
        return None
    return next_tick(instance.cron, after=now, zone=instance.timezone)


def crontab_text(crontab: CrontabSchedule) -> str:
    return " ".join(" ".join(str(getattr(crontab, field)).split()) for field in CRONTAB_FIELDS)


def sync_crontab(instance: IntegrationBatchInstance) -> None:
    """Makes the instance's CrontabSchedule say what its cron says (creates or removes it)."""
    if instance.cron is None:
        if instance.crontab_id is not None:
            crontab_id = instance.crontab_id
            IntegrationBatchInstance.objects.filter(pk=instance.pk).update(crontab=None)
            instance.crontab = None
            CrontabSchedule.objects.filter(pk=crontab_id).delete()
        return
    wanted = dict(zip(CRONTAB_FIELDS, cron_fields(instance.cron), strict=True))
    if instance.crontab_id is None:
        crontab = CrontabSchedule(**wanted, timezone=instance.timezone)
        crontab._syncing_from_instance = True  # the signal need not echo it back
        crontab.save()
        IntegrationBatchInstance.objects.filter(pk=instance.pk).update(crontab=crontab)
        instance.crontab = crontab
        return
    crontab = instance.crontab
    if crontab_text(crontab) != " ".join(wanted.values()) or str(crontab.timezone) != instance.timezone:
        for field, value in wanted.items():
            setattr(crontab, field, value)
        crontab.timezone = instance.timezone
        crontab._syncing_from_instance = True
        crontab.save()


def cron_from_crontab(crontab: CrontabSchedule) -> tuple[str, str]:
    """The (cron, timezone) a CrontabSchedule says, checked by the API's rules."""
    text = crontab_text(crontab)
    try:
        return validate_cron(text), validate_timezone(str(crontab.timezone))
    except (CronError, TimezoneError) as error:
        raise Invalid(str(error), "INVALID_CRON") from None


def instance_changes_from_crontab(instance: IntegrationBatchInstance, crontab: CrontabSchedule) -> dict:
    """What update_instance must change so the instance follows an edited CrontabSchedule."""
    cron, zone = cron_from_crontab(crontab)
    changes = {}
    if instance.cron is None or " ".join(cron_fields(instance.cron)) != " ".join(cron_fields(cron)):
        changes["cron"] = cron
    if instance.timezone != zone:
        changes["timezone"] = zone
    return changes


def _expanded_cron():
    """SQL: the instance's cron with macros written as the five fields a CrontabSchedule holds."""
    return Case(*[When(cron=macro, then=Value(fields)) for macro, fields in MACRO_FIELDS.items()], default=F("cron"))


def _crontab_cron():
    parts = []
    for field in CRONTAB_FIELDS:
        parts += [F(f"crontab__{field}"), Value(" ")]
    return Concat(*parts[:-1], output_field=CharField())


def reconcile_schedules(*, now: datetime | None = None) -> dict:
    """Repairs what skipped the signals (bulk `update()`s on either table): instances whose
    CrontabSchedule says another cron, periodic instances without one, active instances without a
    next tick. A few SQL comparisons over all instances: run it every minute or so, not per sweep."""
    from plugins import services

    now = now or timezone.now()
    report = {"from_crontab": 0, "crontab_created": 0, "crontab_reverted": 0, "rescheduled": 0}
    drifted = (
        IntegrationBatchInstance.objects.filter(crontab__isnull=False, cron__isnull=False)
        .annotate(crontab_cron=_crontab_cron(), expanded=_expanded_cron())
        .filter(~Q(crontab_cron=F("expanded")) | ~Q(crontab__timezone=F("timezone")))
        .select_related("crontab")
    )
    for instance in drifted:
        try:
            changes = instance_changes_from_crontab(instance, instance.crontab)
        except Invalid as error:
            # A bulk update wrote a cron the API would refuse: the instance's cron stands.
            logger.warning("crontab of instance %s is invalid (%s): reverted to its cron", instance.pk, error)
            sync_crontab(instance)
            report["crontab_reverted"] += 1
            continue
        if changes:
            services.update_instance(instance=instance, user=None, **changes)
            report["from_crontab"] += 1
        else:  # the same schedule written differently (spaces): rewrite it as the instance says
            sync_crontab(instance)
    for instance in IntegrationBatchInstance.objects.filter(cron__isnull=False, crontab__isnull=True):
        with transaction.atomic():
            sync_crontab(instance)
        report["crontab_created"] += 1
    for instance in IntegrationBatchInstance.objects.filter(crontab__isnull=False, cron__isnull=True):
        with transaction.atomic():
            sync_crontab(instance)
    unscheduled = IntegrationBatchInstance.objects.filter(
        cron_status=CronStatus.ACTIVE, archived=False, cron__isnull=False, next_tick_at__isnull=True
    )
    for instance in unscheduled:
        try:
            tick = first_tick_after(instance, now)
        except (CronError, TimezoneError) as error:
            logger.error("instance %s cannot be scheduled: %s", instance.pk, error)
            continue
        IntegrationBatchInstance.objects.filter(pk=instance.pk, next_tick_at__isnull=True).update(next_tick_at=tick)
        report["rescheduled"] += 1
    return report
