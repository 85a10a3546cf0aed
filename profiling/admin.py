"""Operators see file batches, their members, the profile as tables and small charts, the
events, and can re-profile a batch (through the service) or download the original zip."""

from django.contrib import admin, messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html

from batchplatform.admin_tools import ViewOnlyAdmin
from profiling import selectors, services, storage
from profiling.models import FileBatch, FileBatchMember
from profiling.report import profile_report


class FileBatchMemberInline(ViewOnlyAdmin, admin.TabularInline):
    model = FileBatchMember
    extra = 0
    can_delete = False
    fields = ["name", "node", "format", "compressed_size", "uncompressed_size", "row_estimate", "row_count"]
    readonly_fields = fields


@admin.register(FileBatch)
class FileBatchAdmin(ViewOnlyAdmin, admin.ModelAdmin):
    list_display = ["batch_key", "organisation", "status", "member_count", "zip_size", "created_at", "profiled_at"]
    list_filter = ["status", "organisation"]
    search_fields = ["batch_key", "original_filename"]
    date_hierarchy = "created_at"
    actions = ["reprofile"]
    inlines = [FileBatchMemberInline]
    fields = [
        "batch_key",
        "organisation",
        "status",
        "failure_reason",
        "original_filename",
        "download",
        "zip_size",
        "uncompressed_size",
        "member_count",
        "attempts",
        "created_at",
        "profiled_at",
        "profile_report",
        "events",
    ]
    readonly_fields = fields

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [path("<int:pk>/download/", download, name="profiling_filebatch_download"), *super().get_urls()]

    def download_view(self, request, pk):
        batch = get_object_or_404(FileBatch, pk=pk)
        if not self.has_view_permission(request, batch):
            raise Http404
        return FileResponse(
            storage.open_zip_file(batch.zip_name),
            as_attachment=True,
            filename=batch.original_filename or f"{batch.batch_key}.zip",
            content_type="application/zip",
        )

    @admin.display(description="original zip")
    def download(self, batch):
        url = reverse("admin:profiling_filebatch_download", args=[batch.pk])
        return format_html('<a class="download-zip" href="{}">Download the zip ({} bytes)</a>', url, batch.zip_size)

    @admin.display(description="profile")
    def profile_report(self, batch):
        return profile_report(batch)

    @admin.display(description="events")
    def events(self, batch):
        return render_to_string("profiling/admin/events.html", {"events": selectors.events_of(batch)[:50]})

    @admin.action(description="Re-profile the selected batches")
    def reprofile(self, request, queryset):
        queued = [batch for batch in queryset if services.reprofile_batch(batch=batch)]
        if queued:
            self.message_user(request, f"{len(queued)} batch(es) queued for profiling again.", messages.SUCCESS)
        skipped = queryset.count() - len(queued)
        if skipped:
            self.message_user(request, f"{skipped} batch(es) were still being profiled: left alone.", messages.WARNING)
