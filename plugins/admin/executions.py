"""Executions: view-only pages that follow the log, and cancel through the service."""

import json
from urllib.parse import quote

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from batchplatform.admin_tools import ViewOnlyAdmin
from batchplatform.errors import DomainError
from plugins import execution_files, services
from plugins.models import (
    Execution,
    ExecutionStatus,
)


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
