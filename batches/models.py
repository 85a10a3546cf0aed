import uuid

from django.db import models
from django.db.models import Q

from batchplatform.models import Organisation


class SubscriptionState(models.TextChoices):
    BEFORE_FIRST_USE = "BEFORE_FIRST_USE"
    IN_USE = "IN_USE"


class Subscription(models.Model):
    """The API user's system of record for one SIM; addressed as msisdn:, iccid: or imsi:."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="subscriptions")
    iccid = models.CharField(max_length=22, unique=True, help_text="The SIM card's id, e.g. 89461177710001700003")
    # A SIM or a number belongs to one subscription across all organisations (409 when in use).
    msisdn = models.CharField(max_length=15, null=True, blank=True, unique=True)
    imsi = models.CharField(max_length=15, null=True, blank=True, unique=True)
    state = models.CharField(
        max_length=20, choices=SubscriptionState.choices, default=SubscriptionState.BEFORE_FIRST_USE
    )
    blocked = models.BooleanField(default=False)
    subscription_type = models.CharField(max_length=100, blank=True)
    tags = models.JSONField(default=list, blank=True)
    bucket_instances_issued = models.PositiveIntegerField(default=0, help_text="Gives bucket instances their ids")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["iccid"]
        constraints = [
            models.CheckConstraint(condition=Q(state__in=SubscriptionState.values), name="subscription_state_known"),
        ]
        indexes = [models.Index(fields=["organisation", "iccid"], name="subscription_org_iccid")]

    def __str__(self):
        return self.msisdn or self.iccid


class ServiceType(models.TextChoices):
    TELESERVICE = "teleservice"
    SUPPLEMENTARY = "supplementary-service"
    BUCKET = "bucket"
    RECURRING_BUCKET = "recurring-bucket"


class Service(models.Model):
    """The catalogue: global teleservices and supplementary services (no organisation) and each
    organisation's buckets, defined at onboarding."""

    organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="services",
        help_text="Empty for the global teleservices and supplementary services",
    )
    sid = models.CharField(max_length=100, help_text="Case-sensitive service id, e.g. Data1G or cfu")
    service_type = models.CharField(max_length=30, choices=ServiceType.choices)
    multiple_instances = models.BooleanField(default=False, help_text="Each assignment adds an instance (buckets)")
    # Attributes a client may send when assigning or modifying, e.g. ["forward-number"].
    attributes = models.JSONField(default=list, blank=True)
    description = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["organisation_id", "sid"]
        constraints = [
            models.UniqueConstraint(fields=["organisation", "sid"], name="service_unique_sid"),
            models.UniqueConstraint(
                fields=["sid"], condition=Q(organisation__isnull=True), name="service_unique_global_sid"
            ),
            models.CheckConstraint(condition=Q(service_type__in=ServiceType.values), name="service_type_known"),
        ]

    def __str__(self):
        return self.sid


class AssignedService(models.Model):
    subscription = models.ForeignKey(Subscription, on_delete=models.CASCADE, related_name="services")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="assignments")
    instance = models.CharField(max_length=20, blank=True, help_text="The instance id of a bucket, e.g. a35")
    attributes = models.JSONField(default=dict, blank=True)
    value = models.BigIntegerField(default=0, help_text="Usage so far")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["subscription", "id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "service", "instance"], name="assigned_service_unique"),
        ]

    def __str__(self):
        return f"{self.service.sid}{'/' + self.instance if self.instance else ''}"


class Operation(models.TextChoices):
    CREATE = "create", "create subscription"
    BLOCK = "block", "block/unblock"
    CHANGE_STATE = "change-state", "change state"
    ASSIGN = "assign", "assign services"
    WITHDRAW = "withdraw", "withdraw a service"
    MODIFY = "modify", "modify a service"


class OrderStatus(models.TextChoices):
    PROVISIONING = "PROVISIONING"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"


class Order(models.Model):
    """One provisioning operation on one subscription. Integer ids, as the API shows them."""

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="orders")
    # The SIM the order is for: the key that allows one outstanding order per subscription, also
    # for a subscription that the order itself creates.
    iccid = models.CharField(max_length=22)
    msisdn = models.CharField(max_length=15, blank=True)
    subscription = models.ForeignKey(
        Subscription, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders"
    )
    operation = models.CharField(max_length=20, choices=Operation.choices)
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.PROVISIONING)
    order_date = models.DateTimeField(auto_now_add=True)
    completion_date = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)
    # A worker provisioning the order holds it until then; after that (a crash), another may.
    lease_until = models.DateTimeField(null=True, blank=True)
    failure = models.TextField(blank=True, help_text="Why provisioning failed, for the operator")
    needs_attention = models.BooleanField(default=False, help_text="Failed: an operator retries or cancels it")

    class Meta:
        ordering = ["-id"]
        constraints = [
            # At most one outstanding order per subscription.
            models.UniqueConstraint(
                fields=["iccid"], condition=Q(status=OrderStatus.PROVISIONING), name="order_one_outstanding"
            ),
            models.CheckConstraint(condition=Q(status__in=OrderStatus.values), name="order_status_known"),
        ]
        indexes = [
            # The operator's queue and the sweeper: orders stuck or flagged.
            models.Index(
                fields=["order_date"], condition=Q(status=OrderStatus.PROVISIONING), name="order_provisioning"
            ),
        ]

    def __str__(self):
        return f"order {self.pk} ({self.operation} {self.iccid}: {self.status})"


class BatchType(models.TextChoices):
    SINGLE = "single"
    MULTI = "multi"


class BatchStatus(models.TextChoices):
    INITIALISING = "INITIALISING"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    PARTIALLY_COMPLETED = "PARTIALLY_COMPLETED"


class Batch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="batches")
    batch_type = models.CharField(max_length=10, choices=BatchType.choices, default=BatchType.SINGLE)
    status = models.CharField(max_length=20, choices=BatchStatus.choices, default=BatchStatus.INITIALISING)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=BatchStatus.values), name="batch_status_known"),
            models.CheckConstraint(condition=Q(batch_type__in=BatchType.values), name="batch_type_known"),
        ]
        indexes = [
            # The sweeper's work list: batches that can still move.
            models.Index(
                fields=["created_at"],
                condition=Q(status__in=[BatchStatus.INITIALISING, BatchStatus.PROCESSING]),
                name="batch_open",
            ),
        ]

    def __str__(self):
        return str(self.id)


class RequestStatus(models.TextChoices):
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    FAILED = "FAILED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    CANCELED = "CANCELED"


class BatchRequest(models.Model):
    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="requests")
    position = models.PositiveSmallIntegerField()
    requestid = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001  (null: the client sent none)
    method = models.CharField(max_length=10)
    resource = models.CharField(max_length=300)
    body = models.JSONField(null=True, blank=True)
    operation = models.CharField(max_length=20, choices=Operation.choices, blank=True)
    # Requests with the same key touch the same subscription: they run one after another.
    group_key = models.CharField(max_length=60, blank=True)
    status = models.CharField(max_length=20, choices=RequestStatus.choices)
    info = models.CharField(max_length=300, null=True, blank=True)  # noqa: DJ001  (the API shows null)
    order = models.OneToOneField(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="batch_request")

    class Meta:
        ordering = ["batch", "position"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="batch_request_position"),
            models.CheckConstraint(condition=Q(status__in=RequestStatus.values), name="batch_request_status_known"),
        ]
        indexes = [
            # Who waits for a subscription when one of its orders ends (wake_batches_waiting_on).
            models.Index(
                fields=["group_key"], condition=Q(status=RequestStatus.APPROVED), name="batch_request_waiting"
            ),
        ]

    def __str__(self):
        return f"{self.batch_id}#{self.position}"


class IdempotencyKey(models.Model):
    """The first answer to a POST with an Idempotency-Key, replayed for the same key and body."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE)
    key = models.CharField(max_length=200)
    body_sha256 = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty while being accepted")
    response = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "key"], name="idempotency_key_unique")]

    def __str__(self):
        return self.key
