"""The plugins app's signals.

`execution_finished`: sent, once the transaction that ended it commits, for each execution moved to
SUCCEEDED, FAILED or CANCELED, whoever moved it (the runner, a client's or an operator's cancel, the
reaper, a paused instance, a missed or overlapping cron tick). Other apps (profiling's submissions)
follow their executions through it. Receivers get `execution_id` (int) and `status` (str), must be
idempotent, and must not rely on it alone: a process that dies between the commit and the send
loses it, so each receiver's own periodic sweep repairs from the rows (the database row is the truth).
Receivers run in the process that ended the execution (often the worker that ran it): keep them
short, and enqueue a task for real work (packing results, say).

And an operator's edit of a CrontabSchedule (django-celery-beat's admin) reaches its instance.
Bulk `update()`s skip these signals: `services.reconcile_schedules`, run periodically, repairs
what they leave behind.
"""

import logging
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models.signals import post_save, pre_save
from django.dispatch import Signal, receiver
from django_celery_beat.models import CrontabSchedule

from batchplatform.errors import Invalid

logger = logging.getLogger(__name__)

execution_finished = Signal()  # execution_id=<int>, status=<str>


def announce_finished(ended: Iterable[tuple[int, str]]) -> None:
    """execution_finished for each (execution id, final status), after the current transaction commits
    (at once outside one). A failing receiver is logged and never fails the path that ended the execution."""
    ended = list(ended)
    if ended:
        transaction.on_commit(lambda: _send_finished(ended))


def _send_finished(ended: list[tuple[int, str]]) -> None:
    from plugins.models import Execution

    for execution_id, status in ended:
        for receiver_function, response in execution_finished.send_robust(
            sender=Execution, execution_id=execution_id, status=str(status)
        ):
            if isinstance(response, Exception):
                logger.error(
                    "a receiver of execution_finished (%r) failed for execution %s",
                    receiver_function,
                    execution_id,
                    exc_info=(type(response), response, response.__traceback__),
                )


def _linked_instance(crontab: CrontabSchedule):
    from plugins.models import IntegrationBatchInstance

    if crontab.pk is None or getattr(crontab, "_syncing_from_instance", False):
        return None
    return IntegrationBatchInstance.objects.filter(crontab_id=crontab.pk).first()


@receiver(pre_save, sender=CrontabSchedule, dispatch_uid="plugins.crontab_checked")
def refuse_a_cron_the_api_would_refuse(sender, instance: CrontabSchedule, **kwargs):
    from plugins.services.schedules import cron_from_crontab

    if _linked_instance(instance) is None:
        return
    try:
        cron_from_crontab(instance)
    except Invalid as error:
        raise ValidationError(error.message) from None


@receiver(post_save, sender=CrontabSchedule, dispatch_uid="plugins.crontab_to_instance")
def follow_an_edited_crontab(sender, instance: CrontabSchedule, created: bool, **kwargs):
    from plugins import services
    from plugins.services.schedules import instance_changes_from_crontab

    linked = _linked_instance(instance)
    instance._syncing_from_instance = False
    if linked is None:
        return
    changes = instance_changes_from_crontab(linked, instance)
    if changes:
        services.update_instance(instance=linked, user=None, **changes)
