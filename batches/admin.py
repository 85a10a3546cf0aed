from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_permission_codename
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from batches import catalogue, services
from batches.models import (
    AssignedService,
    Batch,
    BatchRequest,
    Order,
    OrderStatus,
    RequestStatus,
    Service,
    Subscription,
)
from batchplatform.admin_tools import ViewOnlyAdmin
from batchplatform.errors import DomainError

UNSUCCESSFUL_REQUESTS = [RequestStatus.REJECTED, RequestStatus.FAILED, RequestStatus.CANCELED]


def order_link(order_id):
    if order_id is None:
        return "—"
    return format_html('<a href="{}">{}</a>', reverse("admin:batches_order_change", args=[order_id]), order_id)


class BatchRequestInline(ViewOnlyAdmin, admin.TabularInline):
    model = BatchRequest
    extra = 0
    can_delete = False
    fields = ["position", "requestid", "method", "resource", "status", "info", "order_link"]
    readonly_fields = fields

    @admin.display(description="order")
    def order_link(self, request):
        return order_link(request.order_id)


@admin.register(Batch)
class BatchAdmin(ViewOnlyAdmin, admin.ModelAdmin):
    list_display = [
        "id",
        "organisation",
        "batch_type",
        "status",
        "created_at",
        "completed_at",
        "request_count",
        "completed_count",
        "unsuccessful_count",
    ]
    list_filter = ["status", "batch_type", "organisation"]
    list_select_related = ["organisation"]
    date_hierarchy = "created_at"
    search_fields = ["id__exact", "requests__requestid"]
    inlines = [BatchRequestInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                request_count=Count("requests"),
                completed_count=Count("requests", filter=Q(requests__status=RequestStatus.COMPLETED)),
                unsuccessful_count=Count("requests", filter=Q(requests__status__in=UNSUCCESSFUL_REQUESTS)),
            )
        )

    @admin.display(description="requests", ordering="request_count")
    def request_count(self, batch):
        return batch.request_count

    @admin.display(description="completed", ordering="completed_count")
    def completed_count(self, batch):
        return batch.completed_count

    @admin.display(description="rejected/failed/canceled", ordering="unsuccessful_count")
    def unsuccessful_count(self, batch):
        return batch.unsuccessful_count

    # A batch is what the client sent and what became of it: operators look and purge, not edit.


class AttentionFilter(admin.SimpleListFilter):
    """The operator's queue first in the sidebar: flagged orders wait for a retry or a cancel."""

    title = "needs attention"
    parameter_name = "attention"

    def lookups(self, request, model_admin):
        return [("yes", "Needs attention"), ("outstanding", "Provisioning, not flagged"), ("no", "Not flagged")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(needs_attention=True)
        if self.value() == "outstanding":
            return queryset.filter(status=OrderStatus.PROVISIONING, needs_attention=False)
        if self.value() == "no":
            return queryset.filter(needs_attention=False)
        return queryset


@admin.register(Order)
class OrderAdmin(ViewOnlyAdmin, admin.ModelAdmin):
    deletable = False  # the API shows orders by id
    list_display = [
        "id",
        "organisation",
        "operation",
        "iccid",
        "msisdn",
        "status",
        "needs_attention",
        "attempts",
        "order_date",
        "completion_date",
        "failure_excerpt",
    ]
    list_filter = [AttentionFilter, "status", "operation", "organisation"]
    list_select_related = ["organisation"]
    # Flagged orders on top of the unfiltered list too.
    ordering = ["-needs_attention", "-id"]
    date_hierarchy = "order_date"
    search_fields = ["id__exact", "iccid", "msisdn"]
    readonly_fields = [
        "id",
        "organisation",
        "operation",
        "iccid",
        "msisdn",
        "subscription_link",
        "batch_link",
        "payload",
        "status",
        "needs_attention",
        "failure",
        "attempts",
        "order_date",
        "completion_date",
    ]
    fields = readonly_fields
    actions = ["retry", "cancel"]

    @admin.display(description="failure")
    def failure_excerpt(self, order):
        return Truncator(order.failure).chars(80)

    @admin.display(description="subscription")
    def subscription_link(self, order):
        if order.subscription_id is None:
            return "—"
        url = reverse("admin:batches_subscription_change", args=[order.subscription_id])
        return format_html('<a href="{}">{}</a>', url, order.iccid)

    @admin.display(description="batch")
    def batch_link(self, order):
        request = BatchRequest.objects.filter(order=order).first()
        if request is None:
            return "— (a standalone request)"
        url = reverse("admin:batches_batch_change", args=[request.batch_id])
        return format_html('<a href="{}">{}</a> request #{}', url, request.batch_id, request.position)

    # Status changes go through the services (events, the batch's next step): actions only.

    def has_operate_permission(self, request):
        return request.user.has_perm(f"batches.{get_permission_codename('change', self.opts)}")

    @admin.action(description="Retry selected orders", permissions=["operate"])
    def retry(self, request, queryset):
        for order in queryset:
            try:
                services.retry_order(order=order)
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)  # it names the order
                continue
            # The retry ran the provisioner; say what became of the order, not that we tried.
            order.refresh_from_db()
            if order.status == OrderStatus.COMPLETED:
                self.message_user(request, f"Order {order.pk}: completed.")
            elif order.needs_attention:
                self.message_user(request, f"Order {order.pk}: failed again: {order.failure}", messages.WARNING)
            elif order.status == OrderStatus.CANCELED:
                self.message_user(request, f"Order {order.pk}: refused, canceled: {order.failure}", messages.WARNING)
            else:
                self.message_user(request, f"Order {order.pk}: still provisioning.", messages.WARNING)

    @admin.action(description="Cancel selected orders", permissions=["operate"])
    def cancel(self, request, queryset):
        for order in queryset:
            try:
                services.cancel_order(order=order)
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)  # it names the order
            else:
                self.message_user(request, f"Order {order.pk}: canceled.")


class AssignedServiceInline(ViewOnlyAdmin, admin.TabularInline):
    model = AssignedService
    extra = 0
    can_delete = False
    fields = ["service", "instance", "attributes", "value", "created_at"]
    readonly_fields = fields


@admin.register(Subscription)
class SubscriptionAdmin(ViewOnlyAdmin, admin.ModelAdmin):
    # The API user's system of record: it changes through orders, which publish events.
    deletable = False
    list_display = ["iccid", "msisdn", "imsi", "organisation", "state", "blocked", "created_at"]
    list_filter = ["state", "blocked", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["iccid", "msisdn", "imsi"]
    fields = [
        "iccid",
        "msisdn",
        "imsi",
        "organisation",
        "state",
        "blocked",
        "subscription_type",
        "tags",
        "orders_link",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [AssignedServiceInline]

    @admin.display(description="orders")
    def orders_link(self, subscription):
        url = reverse("admin:batches_order_changelist") + f"?q={subscription.iccid}"
        return format_html('<a href="{}">orders</a>', url)


class ServiceDefinitionForm(forms.ModelForm):
    """Adding a service: an organisation's bucket, with the same checks as defineservice."""

    service_type = forms.ChoiceField(
        choices=[(kind.value, kind.label) for kind in catalogue.ORGANISATION_SERVICE_TYPES]
    )

    class Meta:
        model = Service
        fields = ["organisation", "sid", "service_type", "multiple_instances", "description"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].required = True

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            catalogue.check_definition(
                organisation=cleaned["organisation"],
                sid=cleaned["sid"],
                service_type=cleaned["service_type"],
                description=cleaned.get("description", ""),
            )
        except DomainError as error:
            raise forms.ValidationError(error.message) from None
        return cleaned

    def validate_unique(self):
        pass  # check_definition says it in the operator's words


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ["sid", "service_type", "scope", "multiple_instances", "description"]
    list_filter = ["service_type", "multiple_instances", "organisation"]
    list_select_related = ["organisation"]
    search_fields = ["sid", "description"]

    @admin.display(description="organisation", ordering="organisation__slug")
    def scope(self, service):
        return service.organisation or "global"

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ServiceDefinitionForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["organisation", "sid", "service_type", "multiple_instances", "description"]

    def get_readonly_fields(self, request, obj=None):
        # Assignments rely on a service's sid and type: once defined, only the description changes.
        if obj is None:
            return []
        return ["organisation", "sid", "service_type", "multiple_instances"]

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.organisation_id is None:
            return False  # the global services are the reference's
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.organisation_id is None:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["description"])
            return
        # The form ran the same checks; only a simultaneous definition of this sid can still fail.
        service = catalogue.define_service(
            organisation=obj.organisation,
            sid=obj.sid,
            service_type=obj.service_type,
            multiple_instances=obj.multiple_instances,
            description=obj.description,
        )
        obj.pk = service.pk
