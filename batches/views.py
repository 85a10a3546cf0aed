"""The /ecc/v1 resources: parse, call a service, answer in the reference's shapes."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from batches import openapi, selectors, services
from batches.serializers import batch_data, order_data, subscription_data, subscription_summary
from batchplatform.api.basic import BasicAuthViewMixin
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


class EccView(BasicAuthViewMixin, APIView):
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


class SubscriptionList(EccView):
    @ecc_schema("ecc_subscriptions_list", response=openapi.SUBSCRIPTIONS)
    def get(self, request):
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
    def post(self, request):
        return self.order_accepted("subscriptions")


class SubscriptionDetail(EccView):
    @ecc_schema("ecc_subscription_get", response=openapi.SUBSCRIPTION)
    def get(self, request, address):
        return Response(subscription_data(selectors.get_subscription(self.organisation(), address)))

    @order_accepted_schema("ecc_subscription_block_or_change_state", request=openapi.SUBSCRIPTION_PATCH)
    def patch(self, request, address):
        return self.order_accepted(f"subscriptions/{address}")


class ServicesView(EccView):
    def resource(self, address, *parts) -> str:
        return "/".join(("subscriptions", address, "services", *parts))


class SubscriptionServices(ServicesView):
    """POST assigns, PATCH modifies, DELETE withdraws, the service id in the body."""

    @order_accepted_schema("ecc_services_assign", request=openapi.SERVICES_ASSIGN)
    def post(self, request, address):
        return self.order_accepted(self.resource(address))

    @order_accepted_schema("ecc_services_modify", request=openapi.SERVICE)
    def patch(self, request, address):
        return self.order_accepted(self.resource(address))

    @order_accepted_schema("ecc_services_withdraw", request=openapi.SERVICE)
    def delete(self, request, address):
        return self.order_accepted(self.resource(address))


class SubscriptionService(ServicesView):
    @order_accepted_schema("ecc_service_modify", request=openapi.SERVICE_ATTRIBUTES)
    def patch(self, request, address, sid):
        return self.order_accepted(self.resource(address, sid))

    @order_accepted_schema("ecc_service_withdraw")
    def delete(self, request, address, sid):
        return self.order_accepted(self.resource(address, sid))


class SubscriptionServiceInstance(ServicesView):
    @order_accepted_schema("ecc_service_instance_withdraw")
    def delete(self, request, address, sid, instance):
        return self.order_accepted(self.resource(address, sid, instance))


class OrderDetail(EccView):
    @ecc_schema("ecc_order_get", response=openapi.ORDER)
    def get(self, request, order_id):
        return Response(order_data(selectors.get_order(organisation=self.organisation(), order_id=order_id)))


class BatchList(EccView):
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
    def post(self, request):
        submitted = services.submit_batch_once(
            organisation=self.organisation(),
            payload=request.data,
            key=request.headers.get("Idempotency-Key"),
            body=request.body,
            render=batch_data,
        )
        # A replayed answer went out as 202 the first time too.
        return Response(submitted.answer, status=status.HTTP_202_ACCEPTED)


class BatchDetail(EccView):
    @ecc_schema("ecc_batch_get", response=openapi.BATCH)
    def get(self, request, batch_id):
        return Response(batch_data(selectors.get_batch(organisation=self.organisation(), batch_id=batch_id)))
