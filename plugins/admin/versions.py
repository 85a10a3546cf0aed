"""Plugins and their versions: what the API created, shown to operators; a version's declared
properties are fixed (read-only here)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from batchplatform.admin_tools import ViewOnlyAdmin
from plugins import services
from plugins.models import (
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


class PluginPropertyInline(ViewOnlyAdmin, admin.TabularInline):
    # What a version declares is checked by services.create_version and fixed from then on:
    # a new declaration is a new version (through the API).
    model = PluginProperty
    extra = 0
    deletable = False  # ViewOnlyAdmin's switch; the column "deletable" below is the model's field
    fields = ["technical_name", "property_type", "origin", "value", "writable", "deletable"]
    readonly_fields = fields


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
