from zoneinfo import ZoneInfo

from cron_descriptor import get_description
from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_celery_beat.admin import CrontabScheduleAdmin as BeatCrontabScheduleAdmin
from django_celery_beat.models import CrontabSchedule

from batchplatform.admin_tools import ViewOnlyAdmin
from batchplatform.errors import DomainError
from plugins import services
from plugins.cron import CronError, TimezoneError, cron_fields, next_tick
from plugins.models import (
    Execution,
    ExecutionStatus,
    InstancePropertyValue,
    IntegrationBatchInstance,
    Plugin,
    PluginProperty,
    PluginVersion,
)


class PluginVersionInline(admin.TabularInline):
    model = PluginVersion
    extra = 0
    fields = ["version_link", "version_id", "build_tag", "archived", "entry_point", "archive_kind", "created_at"]
    readonly_fields = ["version_link", "version_id", "entry_point", "archive_kind", "created_at"]
    show_change_link = True

    @admin.display(description="version")
    def version_link(self, version):
        return format_html(
            '<a href="{}">{}</a>', reverse("admin:plugins_pluginversion_change", args=[version.pk]), version.pk
        )

    def has_add_permission(self, request, obj=None):
        return False  # versions come with their properties: through the API


@admin.register(Plugin)
class PluginAdmin(admin.ModelAdmin):
    list_display = ["id", "group_id", "artifact_id", "plugin_type", "organisation", "current_version", "created_at"]
    list_filter = ["plugin_type", "organisation"]
    list_select_related = ["organisation", "current_version"]
    search_fields = ["group_id", "artifact_id", "name"]
    inlines = [PluginVersionInline]
    raw_id_fields = ["current_version"]


class PluginPropertyInline(admin.TabularInline):
    model = PluginProperty
    extra = 0
    fields = ["technical_name", "property_type", "origin", "value", "writable", "deletable"]

    def has_change_permission(self, request, obj=None):
        # What a version declares is fixed once instances may rely on it.
        return obj is None or not obj.instances.exists()


@admin.register(PluginVersion)
class PluginVersionAdmin(admin.ModelAdmin):
    list_display = ["id", "plugin", "version_id", "archived", "entry_point", "archive_kind", "created_at"]
    list_filter = ["archived", "plugin__organisation"]
    list_select_related = ["plugin"]
    search_fields = ["plugin__group_id", "plugin__artifact_id", "version_id"]
    readonly_fields = [
        "plugin",
        "version_id",
        "archive",
        "archive_kind",
        "archive_sha256",
        "archive_size",
        "entry_point",
        "created_at",
    ]
    inlines = [PluginPropertyInline]
    actions = ["archive_versions"]

    @admin.action(description="Archive selected versions")
    def archive_versions(self, request, queryset):
        for version in queryset:
            services.archive_version(version=version)
        self.message_user(request, f"{queryset.count()} version(s) archived.")

    def has_add_permission(self, request):
        return False


class InstancePropertyValueInline(admin.TabularInline):
    model = InstancePropertyValue
    extra = 0
    fields = ["technical_name", "value", "updated_at"]
    readonly_fields = ["updated_at"]


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
                services.run_now(instance=instance, user=request.user)
            except DomainError as error:
                self.message_user(request, f"{instance}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"{instance}: an execution was created.")

    @admin.action(description="Pause (cancels coming executions)")
    def pause(self, request, queryset):
        for instance in queryset.exclude(cron__isnull=True):
            services.update_instance(instance=instance, user=request.user, cron_status="PAUSED")
        self.message_user(request, "Paused; coming executions canceled.")

    @admin.action(description="Resume (from the next tick; nothing missed is replayed)")
    def resume(self, request, queryset):
        resumed = 0
        for instance in queryset.exclude(cron__isnull=True):
            try:
                services.update_instance(instance=instance, user=request.user, cron_status="ACTIVE")
                resumed += 1
            except DomainError as error:
                self.message_user(request, f"{instance}: {error.message}", messages.ERROR)
        self.message_user(request, f"{resumed} instance(s) resumed.")


@admin.register(Execution)
class ExecutionAdmin(ViewOnlyAdmin, admin.ModelAdmin):
    list_display = [
        "id",
        "instance",
        "status",
        "execution_type",
        "expected_start_date",
        "start_date",
        "end_date",
        "organisation",
    ]
    list_filter = ["status", "execution_type", "expected_start_date", "organisation"]
    list_select_related = ["instance", "organisation"]
    date_hierarchy = "expected_start_date"
    search_fields = ["instance__name", "=id"]
    readonly_fields = [f.name for f in Execution._meta.fields]
    actions = ["cancel"]

    @admin.action(description="Cancel selected executions")
    def cancel(self, request, queryset):
        canceled = 0
        for execution in queryset.filter(status__in=[ExecutionStatus.PENDING, ExecutionStatus.RUNNING]):
            try:
                services.cancel_execution(execution=execution)
                canceled += 1
            except DomainError as error:
                self.message_user(request, f"{execution}: {error.message}", messages.ERROR)
        self.message_user(request, f"{canceled} execution(s) canceled.")


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
