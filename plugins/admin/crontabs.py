"""django-celery-beat's crontab admin, checked against the API's rules when it is an instance's schedule."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django_celery_beat.admin import CrontabScheduleAdmin as BeatCrontabScheduleAdmin
from django_celery_beat.models import CrontabSchedule

from batchplatform.errors import DomainError
from plugins import services
from plugins.models import (
    IntegrationBatchInstance,
)


class CrontabForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        if self.instance.pk and IntegrationBatchInstance.objects.filter(crontab_id=self.instance.pk).exists():
            # An instance's schedule: the API's rules, so the edit can reach the instance.
            candidate = CrontabSchedule(**{name: cleaned.get(name) for name in services.CRONTAB_FIELDS})
            candidate.timezone = cleaned.get("timezone") or "UTC"
            try:
                services.cron_from_crontab(candidate)
            except DomainError as error:
                raise forms.ValidationError(error.message) from None
        return cleaned


admin.site.unregister(CrontabSchedule)


@admin.register(CrontabSchedule)
class CrontabScheduleAdmin(BeatCrontabScheduleAdmin):
    """django-celery-beat's, plus the integration batch instance whose schedule a crontab is."""

    form = CrontabForm
    list_display = ("__str__", "human_readable", "instance_link")
    fields = (*BeatCrontabScheduleAdmin.fields, "instance_link")
    readonly_fields = (*BeatCrontabScheduleAdmin.readonly_fields, "instance_link")

    @admin.display(description="integration batch instance")
    def instance_link(self, crontab):
        instance = IntegrationBatchInstance.objects.filter(crontab_id=crontab.pk).first()
        if instance is None:
            return "-"
        url = reverse("admin:plugins_integrationbatchinstance_change", args=[instance.pk])
        return format_html('<a href="{}">{}</a>', url, instance)
