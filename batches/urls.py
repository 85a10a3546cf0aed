"""The /ecc/v1 routes, written out: the reference's URL shapes (addresses like msisdn:..., no
trailing slash, services nested under a subscription) map each method to a viewset action."""

from django.urls import path

from batches import views
from batchplatform import converters  # noqa: F401  (registers <id:...>)

error_format = "json"  # of an unknown /ecc route (batchplatform.api.errors)
subscriptions = views.SubscriptionViewSet
orders = views.OrderViewSet
batches = views.BatchViewSet


def route(viewset, actions: dict[str, str], name: str, description: str = ""):
    """The view for these method -> action pairs; `name` and `description` are what OPTIONS
    and the browsable API show, as when each route was a view of its own."""
    return viewset.as_view(actions, name=name, description=description)


urlpatterns = [
    path("", views.EccRoot.as_view(), name="ecc-root"),
    path(
        "subscriptions",
        route(subscriptions, {"get": "list", "post": "create"}, "Subscription List"),
        name="ecc-subscriptions",
    ),
    path(
        "subscriptions/<str:address>",
        route(subscriptions, {"get": "retrieve", "patch": "partial_update"}, "Subscription Detail"),
        name="ecc-subscription",
    ),
    path(
        "subscriptions/<str:address>/services",
        route(
            subscriptions,
            {"post": "assign_services", "patch": "modify_services", "delete": "withdraw_services"},
            "Subscription Services",
            "POST assigns, PATCH modifies, DELETE withdraws, the service id in the body.",
        ),
        name="ecc-subscription-services",
    ),
    path(
        "subscriptions/<str:address>/services/<str:sid>",
        route(subscriptions, {"patch": "modify_service", "delete": "withdraw_service"}, "Subscription Service"),
        name="ecc-subscription-service",
    ),
    path(
        "subscriptions/<str:address>/services/<str:sid>/<str:instance>",
        route(subscriptions, {"delete": "withdraw_service_instance"}, "Subscription Service Instance"),
        name="ecc-subscription-service-instance",
    ),
    path("orders/<id:order_id>", route(orders, {"get": "retrieve"}, "Order Detail"), name="ecc-order"),
    path("batches", route(batches, {"post": "create"}, "Batch List"), name="ecc-batches"),
    path("batches/<str:batch_id>", route(batches, {"get": "retrieve"}, "Batch Detail"), name="ecc-batch"),
]
