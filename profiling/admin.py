"""Operators see file batches, their members, the profile as tables and small charts, the
events, and can re-profile a batch (through the service) or download the original zip; they
define solutions, releases and submission types (nodes validated by the service), follow
submissions to their processor execution and results, and resubmit them."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import path, reverse
from django.utils.html import format_html

from batchplatform.admin_tools import ViewOnlyAdmin
from batchplatform.errors import Invalid
from profiling import results, selectors, services, storage
from profiling.models import (
    FileBatch,
    FileBatchMember,
    Solution,
    SolutionRelease,
    Submission,
    SubmissionStatus,
    SubmissionType,
)
from profiling.report import profile_report


def events_display(events_of):
    """A read-only field: the row's events (the latest 50) as a table."""

    @admin.display(description="events")
    def events(model_admin, row):
        return render_to_string("profiling/admin/events.html", {"events": events_of(row)[:50]})

    return events


def service_action(description: str, act, *, done: str, left: str):
    """An admin action: `act` (a service, True when it acted) on each selected row; the operator is
    told how many rows it acted on ("done") and how many it left alone ("left")."""

    @admin.action(description=description)
    def action(model_admin, request, queryset):
        rows = list(queryset)
        acted = sum(1 for row in rows if act(row))
        if acted:
            model_admin.message_user(request, done.format(acted), messages.SUCCESS)
        if len(rows) > acted:
            model_admin.message_user(request, left.format(len(rows) - acted), messages.WARNING)

    return action


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
        "consortium_line",
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
        return _zip_download(
            storage.open_zip_file, batch.zip_name, filename=batch.original_filename or f"{batch.batch_key}.zip"
        )

    @admin.display(description="original zip")
    def download(self, batch):
        url = reverse("admin:profiling_filebatch_download", args=[batch.pk])
        return format_html('<a class="download-zip" href="{}">Download the zip ({} bytes)</a>', url, batch.zip_size)

    @admin.display(description="profile")
    def profile_report(self, batch):
        return profile_report(batch)

    events = events_display(selectors.events_of)

    reprofile = service_action(
        "Re-profile the selected batches",
        lambda batch: services.reprofile_batch(batch=batch),
        done="{} batch(es) queued for profiling again.",
        left="{} batch(es) were still being profiled: left alone.",
    )


# --- Solutions and submissions ---------------------------------------------------------------


class SolutionReleaseForm(forms.ModelForm):
    class Meta:
        model = SolutionRelease
        fields = ["solution", "version", "current_from", "notes"]

    def clean_version(self):
        version = self.cleaned_data["version"]
        try:
            services.parse_release_version(version)
        except Invalid as error:
            raise ValidationError(error.message) from None
        return version


class SolutionForm(forms.ModelForm):
    class Meta:
        model = Solution
        fields = ["organisation", "name", "description"]

    def clean_name(self):
        name = self.cleaned_data["name"]
        try:
            services.check_name(name, what="A solution's name")
        except Invalid as error:
            raise ValidationError(error.message) from None
        return name


class SolutionReleaseInline(admin.TabularInline):
    model = SolutionRelease
    form = SolutionReleaseForm
    extra = 0
    fields = ["version", "current_from", "notes"]
    show_change_link = True


@admin.register(Solution)
class SolutionAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "description"]
    list_filter = ["organisation"]
    search_fields = ["name"]
    form = SolutionForm
    fields = ["organisation", "name", "description"]
    inlines = [SolutionReleaseInline]

    @admin.display(description="organisation", ordering="organisation__slug")
    def owner(self, solution):
        return solution.organisation.slug if solution.organisation_id else "platform-wide"

    def save_formset(self, request, form, formset, change):
        # The versions were checked by SolutionReleaseForm; their numbers order the releases.
        for release_form in formset.forms:
            release = release_form.instance
            if release.version and not release_form.cleaned_data.get("DELETE"):
                release.major, release.minor, release.patch = services.parse_release_version(release.version)
        super().save_formset(request, form, formset, change)


class SubmissionTypeInline(admin.TabularInline):
    model = SubmissionType
    extra = 0
    fields = ["name", "processor", "max_bad_share"]
    readonly_fields = fields
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False  # added on its own page, where its nodes are validated


@admin.register(SolutionRelease)
class SolutionReleaseAdmin(admin.ModelAdmin):
    form = SolutionReleaseForm
    list_display = ["solution", "version", "current_from"]
    list_filter = ["solution__name"]
    inlines = [SubmissionTypeInline]

    def save_model(self, request, obj, form, change):
        obj.major, obj.minor, obj.patch = services.parse_release_version(obj.version)
        super().save_model(request, obj, form, change)


class SubmissionTypeForm(forms.ModelForm):
    """Every field is validated by the service that the command and the installer use."""

    class Meta:
        model = SubmissionType
        fields = ["release", "name", "nodes", "max_bad_share", "processor"]
        widgets = {"nodes": forms.Textarea(attrs={"rows": 20, "cols": 100})}

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        try:
            services.check_name(data.get("name"), what="A submission type's name")
            data["nodes"] = services.validate_nodes(data.get("nodes"))
            services.check_processor(solution=data["release"].solution, processor=data["processor"])
        except Invalid as error:
            raise ValidationError(error.message) from None
        return data


@admin.register(SubmissionType)
class SubmissionTypeAdmin(admin.ModelAdmin):
    form = SubmissionTypeForm
    list_display = ["name", "release", "processor", "max_bad_share"]
    list_filter = ["release__solution__name"]
    raw_id_fields = ["processor"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        saved = _through_service(
            lambda: services.save_submission_type(
                release=data["release"],
                name=data["name"],
                nodes=data["nodes"],
                processor=data["processor"],
                max_bad_share=data["max_bad_share"],
                submission_type=obj,
            )
        )
        obj.pk = saved.pk


@admin.register(Submission)
class SubmissionAdmin(ViewOnlyAdmin, admin.ModelAdmin):
    list_display = ["batch_key", "organisation", "submission_type", "status", "created_at", "finished_at"]
    list_filter = ["status", "organisation", "submission_type__release__solution__name"]
    search_fields = ["batch__batch_key"]
    date_hierarchy = "created_at"
    actions = ["resubmit"]
    fields = [
        "batch_key",
        "organisation",
        "submission_type",
        "status",
        "failure_reason",
        "batch_link",
        "execution_link",
        "results_link",
        "runs",
        "created_at",
        "started_at",
        "finished_at",
        "events",
    ]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super().get_queryset(request).select_related("batch", "organisation", "submission_type__release__solution")
        )

    def get_urls(self):
        download = self.admin_site.admin_view(self.download_view)
        return [path("<int:pk>/results/", download, name="profiling_submission_results"), *super().get_urls()]

    def download_view(self, request, pk):
        submission = get_object_or_404(Submission, pk=pk, status=SubmissionStatus.COMPLETED)
        if not self.has_view_permission(request, submission):
            raise Http404
        return _zip_download(
            results.open_results,
            submission.results_name,
            filename=f"{submission.batch.batch_key}-{submission.submission_type.name}-results.zip",
        )

    @admin.display(description="batch key", ordering="batch__batch_key")
    def batch_key(self, submission):
        return str(submission.batch.batch_key)

    @admin.display(description="file batch")
    def batch_link(self, submission):
        url = reverse("admin:profiling_filebatch_change", args=[submission.batch_id])
        return format_html(
            '<a class="batch-link" href="{}">{} ({})</a>', url, submission.batch.batch_key, submission.batch.status
        )

    @admin.display(description="processor execution")
    def execution_link(self, submission):
        if submission.execution_id is None:
            return "-"
        url = reverse("admin:plugins_execution_change", args=[submission.execution_id])
        return format_html(
            '<a class="execution-link" href="{}">Execution {} (its log)</a>', url, submission.execution_id
        )

    @admin.display(description="results")
    def results_link(self, submission):
        if submission.status != SubmissionStatus.COMPLETED:
            return "-"
        url = reverse("admin:profiling_submission_results", args=[submission.pk])
        return format_html(
            '<a class="download-results" href="{}">Download the results ({} bytes)</a>', url, submission.results_size
        )

    events = events_display(selectors.submission_events)

    resubmit = service_action(
        "Resubmit: run the processor again for the same batch",
        lambda submission: services.resubmit(submission=submission),
        done="{} submission(s) submitted again.",
        left="{} submission(s) were not finished: left alone.",
    )


def _through_service(call):
    try:
        return call()
    except Invalid as error:
        raise ValidationError(error.message) from None


def _zip_download(open_file, name: str, *, filename: str) -> FileResponse:
    try:
        stored = open_file(name)
    except FileNotFoundError:
        raise Http404("The zip is no longer in the storage") from None
    return FileResponse(stored, as_attachment=True, filename=filename, content_type="application/zip")
