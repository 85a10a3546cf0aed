"""The /ecc/v1 resources as DRF viewsets, one per resource (subscriptions, orders, batches), with
an @action for each sub-resource that is not CRUD (a subscription's services); routed explicitly
in batches.urls, so every URL keeps the reference's shape. Each method parses, calls a service or
a selector, and answers in the reference's shapes with the status code it chooses. The events
long-poll is a consumer of its own (batches.events_api)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import ViewSet

from batches import openapi, selectors, services
from batches.serializers import batch_data, order_data, subscription_data, subscription_summary
from batchplatform.api.basic import BasicAuthViewMixin, PlainErrorAutoSchema
from batchplatform.api.schema import link, response_links
from batchplatform.api.v1 import StrictJSONParser
from batchplatform.errors import NotFound
from batchplatform.services import organisation_of


def ecc_schema(operation_id: str, *, request: dict | None = None, response: dict, status: int = 200, **extra):
    """The ECC bodies are plain JSON objects (batches.openapi), documented in the reference pages."""
    body = {"application/json": request} if request is not None else None
    return extend_schema(operation_id=operation_id, request=body, responses={status: response}, **extra)


def order_accepted_schema(operation_id: str, *, request: dict | None = None):
    """202 {"orders": [id]}; the order is then read at /ecc/v1/orders/{order_id}."""

    def decorate(method):
        method = response_links(202, GetOrder=link("ecc_order_get", order_id="$response.body#/orders/0"))(method)
        return ecc_schema(operation_id, request=request, response=openapi.ORDERS_ACCEPTED, status=202)(method)

    return decorate


# The subscription a create names, as an address of the resources below it.
SUBSCRIPTION_ADDRESS = "iccid:{$request.body#/iccid}"


class EccAutoSchema(PlainErrorAutoSchema):
    def _is_list_view(self, serializer=None) -> bool:
        return False  # an ECC answer wraps its list in an object: never a bare array


class EccViewSet(BasicAuthViewMixin, ViewSet):
    schema = EccAutoSchema()

    def organisation(self):
        organisation = organisation_of(self.request.user)
        if organisation is None:
            # Staff without an organisation have no subscriptions of their own.
            raise NotFound("This user belongs to no organisation", "NO_ORGANISATION")
        return organisation

    def order_accepted(self, resource: str) -> Response:
        order = services.submit_order(
            organisation=self.organisation(), method=self.request.method, resource=resource, body=self.request.data
        )
        return Response({"orders": [order.pk]}, status=status.HTTP_202_ACCEPTED)


class SubscriptionViewSet(EccViewSet):
    # A subscription is read here; every change to it is an order (202 with the order's id).
    # (No docstring: the document would show it as every operation's description.)

    lookup_field = lookup_url_kwarg = "address"
    lookup_value_regex = "[^/]+"  # msisdn:..., iccid:... or imsi:...

    @ecc_schema("ecc_subscriptions_list", response=openapi.SUBSCRIPTIONS)
    def list(self, request):
        subscriptions = selectors.list_subscriptions(self.organisation(), request.query_params)
        ongoing = selectors.ongoing_orders(subscriptions)
        return Response({"subscriptions": [subscription_summary(s, ongoing.get(s.pk, [])) for s in subscriptions]})

    @order_accepted_schema("ecc_subscription_create", request=openapi.SUBSCRIPTION_CREATE)
    @response_links(
        202,
        GetSubscription=link("ecc_subscription_get", address=SUBSCRIPTION_ADDRESS),
        PatchSubscription=link("ecc_subscription_block_or_change_state", address=SUBSCRIPTION_ADDRESS),
        AssignServices=link("ecc_services_assign", address=SUBSCRIPTION_ADDRESS),
        ModifyServices=link("ecc_services_modify", address=SUBSCRIPTION_ADDRESS),
        WithdrawServices=link("ecc_services_withdraw", address=SUBSCRIPTION_ADDRESS),
    )
    def create(self, request):
        return self.order_accepted("subscriptions")

    @ecc_schema("ecc_subscription_get", response=openapi.SUBSCRIPTION)
    def retrieve(self, request, address):
        return Response(subscription_data(selectors.get_subscription(self.organisation(), address)))

    @order_accepted_schema("ecc_subscription_block_or_change_state", request=openapi.SUBSCRIPTION_PATCH)
    def partial_update(self, request, address):
        return self.order_accepted(f"subscriptions/{address}")

    @staticmethod
    def services_resource(address, *parts) -> str:
        return "/".join(("subscriptions", address, "services", *parts))

    @order_accepted_schema("ecc_services_assign", request=openapi.SERVICES_ASSIGN)
    @action(detail=True, methods=["post"], url_path="services")
    def assign_services(self, request, address):
        """POST assigns, PATCH modifies, DELETE withdraws, the service id in the body."""
        return self.order_accepted(self.services_resource(address))

    @order_accepted_schema("ecc_services_modify", request=openapi.SERVICE)
    @assign_services.mapping.patch
    def modify_services(self, request, address):
        """POST assigns, PATCH modifies, DELETE withdraws, the service id in the body."""
        return self.order_accepted(self.services_resource(address))

    @order_accepted_schema("ecc_services_withdraw", request=openapi.SERVICE)
    @assign_services.mapping.delete
    def withdraw_services(self, request, address):
        """POST assigns, PATCH modifies, DELETE withdraws, the service id in the body."""
        return self.order_accepted(self.services_resource(address))

    @order_accepted_schema("ecc_service_modify", request=openapi.SERVICE_ATTRIBUTES)
    @action(detail=True, methods=["patch"], url_path=r"services/(?P<sid>[^/]+)")
    def modify_service(self, request, address, sid):
        return self.order_accepted(self.services_resource(address, sid))

    @order_accepted_schema("ecc_service_withdraw")
    @modify_service.mapping.delete
    def withdraw_service(self, request, address, sid):
        return self.order_accepted(self.services_resource(address, sid))

    @order_accepted_schema("ecc_service_instance_withdraw")
    @action(detail=True, methods=["delete"], url_path=r"services/(?P<sid>[^/]+)/(?P<instance>[^/]+)")
    def withdraw_service_instance(self, request, address, sid, instance):
        return self.order_accepted(self.services_resource(address, sid, instance))


class OrderViewSet(EccViewSet):
    # An order, as created by a standalone request or a batch's request.

    lookup_field = lookup_url_kwarg = "order_id"

    @ecc_schema("ecc_order_get", response=openapi.ORDER)
    def retrieve(self, request, order_id):
        return Response(order_data(selectors.get_order(organisation=self.organisation(), order_id=order_id)))


class BatchViewSet(EccViewSet):
    # Up to 100 API requests in one submission, carried out in the background.

    lookup_field = lookup_url_kwarg = "batch_id"
    # JSON only: the Idempotency-Key compares raw bodies, which a multipart parser consumes.
    parser_classes = [StrictJSONParser]

    @ecc_schema(
        "ecc_batch_submit",
        request=openapi.BATCH_SUBMIT,
        response=openapi.BATCH,
        status=202,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="The same key and body again answer the first answer, without a second batch",
            )
        ],
    )
    @response_links(202, GetBatch=link("ecc_batch_get", batch_id="$response.body#/batchid"))
    def create(self, request):
        submitted = services.submit_batch_once(
            organisation=self.organisation(),
            payload=request.data,
            key=request.headers.get("Idempotency-Key"),
            body=request.body,
            render=batch_data,
        )
        # A replayed answer went out as 202 the first time too.
        return Response(submitted.answer, status=status.HTTP_202_ACCEPTED)

    @ecc_schema("ecc_batch_get", response=openapi.BATCH)
    def retrieve(self, request, batch_id):
        return Response(batch_data(selectors.get_batch(organisation=self.organisation(), batch_id=batch_id)))


class EccRoot(BasicAuthViewMixin, APIView):
    """The ECC API's resources, to click through in a browser (signed in to the admin) or to
    read as JSON with HTTP Basic. Orders and events have no list: their URLs take an id or a type."""

    @ecc_schema("ecc_root", response=openapi.ROOT)
    def get(self, request):
        root = request.build_absolute_uri(request.path)
        return Response({name: f"{root}{path}" for name, path in RESOURCES.items()})


# What the root lists, relative to /ecc/v1/.
RESOURCES = {
    "subscriptions": "subscriptions",
    "batches": "batches",
    "orders": "orders/{order_id}",
    "events": "events/{event_type}",
}
