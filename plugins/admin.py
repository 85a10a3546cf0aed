from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from batchplatform.admin_tools import ViewOnlyAdmin
from batchplatform.errors import DomainError
from plugins import services
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
        "environment_error",
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
        except DomainError as error:
            raise forms.ValidationError(error.message) from None
        return cleaned


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
    readonly_fields = ["organisation", "created_by", "last_modified_by", "created_at", "updated_at", "executions_link"]
    fields = [
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
        "created_by",
        "last_modified_by",
        "created_at",
        "updated_at",
    ]
    raw_id_fields = ["version"]
    inlines = [InstancePropertyValueInline]
    actions = ["run_now", "pause"]

    def has_add_permission(self, request):
        return False  # an instance is resolved from its plugin and version: through the API

    @admin.display(description="executions")
    def executions_link(self, instance):
        url = reverse("admin:plugins_execution_changelist") + f"?instance__id__exact={instance.pk}"
        return format_html('<a href="{}">executions</a>', url)

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
