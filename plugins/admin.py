import json
from urllib.parse import quote
from zoneinfo import ZoneInfo

from cron_descriptor import get_description
from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django_celery_beat.admin import CrontabScheduleAdmin as BeatCrontabScheduleAdmin
from django_celery_beat.models import CrontabSchedule

from batchplatform.admin_tools import ViewOnlyAdmin
from batchplatform.errors import DomainError
from plugins import execution_files, services
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
from plugins.selectors import version_environment


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
    list_display = [
        "id",
        "plugin",
        "version_id",
        "archived",
        "entry_point",
        "archive_kind",
        "environment",
        "created_at",
    ]
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
        "environment_details",
        "created_at",
    ]
    exclude = ["environment_error"]  # shown, with its state, by environment_details
    inlines = [PluginPropertyInline]
    actions = ["archive_versions"]

    @admin.action(description="Archive selected versions")
    def archive_versions(self, request, queryset):
        for version in queryset:
            services.archive_version(version=version)
        self.message_user(request, f"{queryset.count()} version(s) archived.")

    def has_add_permission(self, request):
        return False

    @admin.display(description="dependencies")
    def environment(self, version):
        return version_environment(version, look_in_archive=False).short

    @admin.display(description="dependencies (requirements.txt)")
    def environment_details(self, version):
        state = version_environment(version, look_in_archive=True)
        if not state.message:
            return state.long
        return format_html('{}<pre style="white-space: pre-wrap">{}</pre>', state.long, state.message)


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
        "progress_summary",
        "organisation",
    ]
    list_filter = ["status", "execution_type", "expected_start_date", "organisation"]
    list_select_related = ["instance", "organisation"]
    date_hierarchy = "expected_start_date"
    search_fields = ["instance__name", "=id"]
    readonly_fields = [
        *(f.name for f in Execution._meta.fields if f.name not in ("status", "result", "error")),
        "status_display",
        "progress_display",
        "result_display",
        "error_display",
        "log_display",
        "artifacts_display",
        "cancel_button",
        "inputs_display",
        "parameters_display",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "instance",
                    "version",
                    "organisation",
                    "user",
                    ("status_display", "cancel_button"),
                    "execution_type",
                    "expected_start_date",
                    ("created_at", "start_date", "end_date"),
                ]
            },
        ),
        ("Outcome", {"fields": ["progress_display", "result_display", "error_display"]}),
        # A processor's execution (a solution's submission): what it was given. Read-only, as the rest.
        ("Inputs and parameters", {"fields": ["inputs_display", "parameters_display"]}),
        ("Log", {"fields": ["log_display"]}),
        ("Artifacts", {"fields": ["artifacts_display"]}),
        ("Delivery", {"classes": ["collapse"], "fields": ["sent_at", "heartbeat_at"]}),
    ]
    actions = ["cancel"]

    class Media:
        js = ["plugins/execution_follow.js"]

    def get_urls(self):
        cancel = path(
            "<path:object_id>/cancel/",
            self.admin_site.admin_view(self.cancel_view),
            name="plugins_execution_cancel",
        )
        return [cancel, *super().get_urls()]

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

    def cancel_view(self, request, object_id):
        """The cancel button of an execution's page: the same service as the API's PUT."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        execution = get_object_or_404(Execution, pk=object_id)
        if not self.has_view_permission(request, execution):
            raise PermissionDenied
        try:
            services.cancel_execution(execution=execution)
        except DomainError as error:
            self.message_user(request, f"Not canceled: {error.message}", messages.ERROR)
        else:
            self.message_user(request, "Canceled: a running plugin is stopped within seconds.")
        return redirect("admin:plugins_execution_change", execution.pk)

    @admin.display(description="progress")
    def progress_summary(self, execution):
        if execution.num_tasks is None:
            return "-"
        return f"{execution.completed_tasks or 0}/{execution.num_tasks}"

    @admin.display(description="status")
    def status_display(self, execution):
        return format_html('<strong id="execution-status">{}</strong>', execution.status)

    @admin.display(description="")
    def cancel_button(self, execution):
        if execution.status not in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING):
            return ""
        # Inside the page's own form (whose CSRF token it sends), posted to the cancel view.
        return format_html(
            '<button type="submit" class="button" formmethod="post" formaction="{}">Cancel this execution</button>',
            reverse("admin:plugins_execution_cancel", args=[execution.pk]),
        )

    @admin.display(description="progress")
    def progress_display(self, execution):
        if execution.num_tasks is None:
            numbers, value, maximum = "no progress reported", 0, 1
        else:
            done, failed = execution.completed_tasks or 0, execution.erroneous_tasks or 0
            numbers = f"{done} of {execution.num_tasks} done, {failed} erroneous"
            value, maximum = done + failed, max(execution.num_tasks, 1)
        return format_html(
            '<div id="execution-progress"><progress value="{}" max="{}"></progress>'
            ' <span class="numbers">{}</span></div>',
            value,
            maximum,
            numbers,
        )

    @admin.display(description="result")
    def result_display(self, execution):
        if execution.result is None:
            return "-"
        return format_html("<pre>{}</pre>", json.dumps(execution.result, indent=2, ensure_ascii=False))

    @admin.display(description="error")
    def error_display(self, execution):
        if not execution.error:
            return "-"
        message = execution.error.get("message") if isinstance(execution.error, dict) else execution.error
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', message)

    @admin.display(description="inputs")
    def inputs_display(self, execution):
        if not execution.inputs:
            return "None."
        return format_html(
            '<ul id="execution-inputs">{}</ul>',
            format_html_join(
                "",
                "<li><code>{}</code> from <code>{}</code>{}</li>",
                (
                    (name, source.get("storage_name"), format_html(", member <code>{}</code>", source["member"]))
                    if source.get("member")
                    else (name, source.get("storage_name"), "")
                    for name, source in sorted(execution.inputs.items())
                ),
            ),
        )

    @admin.display(description="parameters")
    def parameters_display(self, execution):
        if not execution.parameters:
            return "None."
        return format_html(
            '<pre id="execution-parameters">{}</pre>', json.dumps(execution.parameters, indent=2, ensure_ascii=False)
        )

    @admin.display(description="log")
    def log_display(self, execution):
        api = _execution_api_url(execution)
        chunk = execution_files.read_log(execution=execution)
        return render_to_string(
            "plugins/admin/execution_log.html",
            {
                "log_url": f"{api}/logs",
                "detail_url": api,
                "text": chunk.text,
                "next_offset": chunk.next_offset,
                "complete": chunk.complete,
                "active": execution.status in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING),
            },
        )

    @admin.display(description="artifacts")
    def artifacts_display(self, execution):
        artifacts = execution_files.list_artifacts(execution=execution)
        if not artifacts:
            ended = execution.status not in (ExecutionStatus.PENDING, ExecutionStatus.RUNNING)
            return "None." if ended else "Kept when the execution ends."
        api = _execution_api_url(execution)
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                '<li><a href="{}" download>{}</a> ({} bytes)</li>',
                ((f"{api}/artifacts/{quote(a.name)}", a.name, a.size) for a in artifacts),
            ),
        )


def _execution_api_url(execution) -> str:
    # The /v1 resource serves staff sessions too: the page follows the log through the same API as integrators.
    return reverse("execution-detail", kwargs={"instance_id": execution.instance_id, "execution_id": execution.pk})

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
