"""Integration batch instances: their schedule edited through the services' checks, their
property values set through `services.set_instance_property` (never a raw formset)."""

import json
from zoneinfo import ZoneInfo

from cron_descriptor import get_description
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from batchplatform.admin_tools import ViewOnlyAdmin
from batchplatform.errors import DomainError
from plugins import services
from plugins.cron import CronError, TimezoneError, cron_fields, next_tick
from plugins.models import (
    CronStatus,
    InstancePropertyValue,
    IntegrationBatchInstance,
    PropertyOrigin,
)


class InstancePropertyValueInline(ViewOnlyAdmin, admin.TabularInline):
    """The values this instance set, read-only: a value is written by services.set_instance_property
    (its type checked, non-writable properties refused), from the "set a property" page."""

    model = InstancePropertyValue
    extra = 0
    deletable = False
    fields = ["technical_name", "value", "updated_at"]
    readonly_fields = fields


class PropertyValueForm(forms.Form):
    """One property's new value, as the API's PUT .../properties/technical_name=<name> takes it."""

    technical_name = forms.ChoiceField()
    value = forms.JSONField(help_text='The value object, e.g. {"value": 100} or {"url": "https://..."}')

    def __init__(self, *args, instance: IntegrationBatchInstance, **kwargs):
        super().__init__(*args, **kwargs)
        # Every declared property is offered: the service, not the form, says which may be written.
        self.fields["technical_name"].choices = [
            (prop["technical_name"], f"{prop['technical_name']} ({prop['property_type']}, {prop['origin']})")
            for prop in services.instance_properties(instance)
        ]


class InstanceForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        try:
            # The same rules as the API, so the operator sees the error on the form.
            cleaned["cron"], cleaned["cron_status"] = services.check_schedule(
                cleaned.get("cron") or None, cleaned.get("cron_status") or None
            )
            if "timezone" in cleaned:
                cleaned["timezone"] = services.check_timezone(cleaned["timezone"])
            if "starting_deadline_seconds" in cleaned:
                services.check_starting_deadline(cleaned["starting_deadline_seconds"])
        except DomainError as error:
            raise forms.ValidationError(error.message) from None
        return cleaned


def cron_in_words(cron: str | None, zone: str) -> str:
    if cron is None:
        return "not periodic"
    try:
        words = get_description(" ".join(cron_fields(cron)))
    except (CronError, ValueError) as error:  # cron_descriptor raises its own ValueErrors too
        return f"{cron} (cannot be described: {error})"
    return f"{words} ({zone})"


def coming_ticks(cron: str, zone: str, *, count: int = 5) -> list:
    ticks, moment = [], timezone.now()
    for _ in range(count):
        moment = next_tick(cron, after=moment, zone=zone)
        ticks.append(moment)
    return ticks


@admin.register(IntegrationBatchInstance)
class IntegrationBatchInstanceAdmin(admin.ModelAdmin):
    form = InstanceForm
    list_display = [
        "id",
        "name",
        "organisation",
        "version",
        "cron",
        "cron_status",
        "ram_size",
        "cpu_size",
        "disk_size",
        "archived",
        "executions_link",
    ]
    list_filter = ["cron_status", "archived", "ram_size", "organisation"]
    list_select_related = ["organisation", "version__plugin"]
    search_fields = ["name", "version__plugin__group_id", "version__plugin__artifact_id"]
    readonly_fields = [
        "organisation",
        "created_by",
        "last_modified_by",
        "created_at",
        "updated_at",
        "executions_link",
        "schedule_in_words",
        "next_runs",
        "next_tick_at",
        "crontab_link",
        "properties_table",
    ]
    fields = [
        "name",
        "organisation",
        "version",
        "cron",
        "cron_status",
        "timezone",
        "schedule_in_words",
        "next_runs",
        "next_tick_at",
        "crontab_link",
        "overlap_policy",
        "starting_deadline_seconds",
        "ram_size",
        "cpu_size",
        "disk_size",
        "archived",
        "properties_table",
        "executions_link",
        "created_by",
        "last_modified_by",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["version"]
    inlines = [InstancePropertyValueInline]
    actions = ["run_now", "pause", "resume"]

    def has_add_permission(self, request):
        return False  # an instance is resolved from its plugin and version: through the API

    def get_urls(self):
        set_property = path(
            "<path:object_id>/property/",
            self.admin_site.admin_view(self.set_property_view),
            name="plugins_integrationbatchinstance_set_property",
        )
        return [set_property, *super().get_urls()]

    def set_property_view(self, request, object_id):
        """Set one property value through the same service as the API's PUT."""
        instance = get_object_or_404(IntegrationBatchInstance, pk=object_id)
        if not self.has_change_permission(request, instance):
            raise PermissionDenied
        initial = {"technical_name": request.GET.get("technical_name", "")}
        form = PropertyValueForm(request.POST or None, instance=instance, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                services.set_instance_property(
                    instance=instance,
                    technical_name=form.cleaned_data["technical_name"],
                    value=form.cleaned_data["value"],
                )
            except DomainError as error:
                form.add_error(None, error.message)
            else:
                self.message_user(request, f"Property {form.cleaned_data['technical_name']} set.")
                return redirect("admin:plugins_integrationbatchinstance_change", instance.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Set a property of {instance}",
            "opts": self.opts,
            "original": instance,
            "form": form,
            "properties": services.instance_properties(instance),
        }
        return TemplateResponse(request, "plugins/admin/set_property.html", context)

    @admin.display(description="properties")
    def properties_table(self, instance):
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            (
                (
                    prop["technical_name"],
                    prop["property_type"],
                    prop["origin"],
                    json.dumps(prop["value"], ensure_ascii=False),
                    "yes" if prop["writable"] and prop["origin"] != PropertyOrigin.PLUGIN_STATIC else "no",
                )
                for prop in services.instance_properties(instance)
            ),
        )
        url = reverse("admin:plugins_integrationbatchinstance_set_property", args=[instance.pk])
        return format_html(
            '<table class="instance-properties"><thead><tr><th>name</th><th>type</th><th>origin</th>'
            "<th>value</th><th>writable</th></tr></thead><tbody>{}</tbody></table>"
            '<p><a class="button" href="{}">Set a property value</a></p>',
            rows,
            url,
        )

    @admin.display(description="executions")
    def executions_link(self, instance):
        url = reverse("admin:plugins_execution_changelist") + f"?instance__id__exact={instance.pk}"
        return format_html('<a href="{}">executions</a>', url)

    @admin.display(description="schedule in words")
    def schedule_in_words(self, instance):
        return cron_in_words(instance.cron, instance.timezone)

    @admin.display(description="next five runs")
    def next_runs(self, instance):
        if instance.cron is None:
            return "-"
        try:
            ticks = coming_ticks(instance.cron, instance.timezone)
        except (CronError, TimezoneError) as error:
            return f"cannot be computed: {error}"
        rows = format_html_join(
            "",
            "<li>{} UTC ({} {})</li>",
            (
                (f"{tick:%Y-%m-%d %H:%M}", f"{tick.astimezone(ZoneInfo(instance.timezone)):%H:%M}", instance.timezone)
                for tick in ticks
            ),
        )
        note = (
            "" if services.first_tick_after(instance, timezone.now()) else "paused or archived: these run once resumed"
        )
        return format_html('<ul class="next-runs">{}</ul>{}', rows, note)

    @admin.display(description="crontab (django-celery-beat)")
    def crontab_link(self, instance):
        if instance.crontab_id is None:
            return "-"
        url = reverse("admin:django_celery_beat_crontabschedule_change", args=[instance.crontab_id])
        return format_html('<a href="{}">edit the schedule as a crontab</a>', url)

    def save_model(self, request, obj, form, change):
        # The same checks as the API: cron and status together, a valid cron, pausing cancels.
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in form.cleaned_data}
        if "version" in changes:
            version = changes.pop("version")
            changes.update(
                group_id=version.plugin.group_id, artifact_id=version.plugin.artifact_id, version_id=str(version.pk)
            )
        try:
            services.update_instance(
                instance=IntegrationBatchInstance.objects.get(pk=obj.pk), user=request.user, **changes
            )
        except DomainError as error:
            self.message_user(request, f"Not saved: {error.message}", messages.ERROR)

    @admin.action(description="Run now")
    def run_now(self, request, queryset):
        for instance in queryset:
            try:
                execution = services.run_now(instance=instance, user=request.user)
            except DomainError as error:
                self.message_user(request, f"{instance}: {error.message}", messages.ERROR)
            else:
                url = reverse("admin:plugins_execution_change", args=[execution.pk])
                self.message_user(
                    request, format_html('{}: an execution was created: <a href="{}">{}</a>.', instance, url, execution)
                )

    @admin.action(description="Pause (cancels coming executions)")
    def pause(self, request, queryset):
        for instance in queryset.exclude(cron__isnull=True):
            services.update_instance(instance=instance, user=request.user, cron_status=CronStatus.PAUSED)
        self.message_user(request, "Paused; coming executions canceled.")

    @admin.action(description="Resume (from the next tick; nothing missed is replayed)")
    def resume(self, request, queryset):
        resumed = 0
        for instance in queryset.exclude(cron__isnull=True):
            try:
                services.update_instance(instance=instance, user=request.user, cron_status=CronStatus.ACTIVE)
                resumed += 1
            except DomainError as error:
                self.message_user(request, f"{instance}: {error.message}", messages.ERROR)
        self.message_user(request, f"{resumed} instance(s) resumed.")
