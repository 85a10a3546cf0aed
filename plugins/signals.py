"""An operator's edit of a CrontabSchedule (django-celery-beat's admin) reaches its instance.

Bulk `update()`s skip these signals: `services.reconcile_schedules`, run periodically, repairs
what they leave behind.
"""

from django.core.exceptions import ValidationError
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver
from django_celery_beat.models import CrontabSchedule

from batchplatform.errors import Invalid


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
