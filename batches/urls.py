from django.urls import path

from batches import views
from batchplatform import converters  # noqa: F401  (registers <id:...>)

error_format = "json"  # of an unknown /ecc route (batchplatform.api.errors)
urlpatterns = [
    path("subscriptions", views.SubscriptionList.as_view()),
    path("subscriptions/<str:address>", views.SubscriptionDetail.as_view()),
    path("subscriptions/<str:address>/services", views.SubscriptionServices.as_view()),
    path("subscriptions/<str:address>/services/<str:sid>", views.SubscriptionService.as_view()),
    path("subscriptions/<str:address>/services/<str:sid>/<str:instance>", views.SubscriptionServiceInstance.as_view()),
    path("orders/<id:order_id>", views.OrderDetail.as_view()),
    path("batches", views.BatchList.as_view()),
    path("batches/<str:batch_id>", views.BatchDetail.as_view()),
]
