from django.urls import path

from profiling import subscriptions
from profiling.api import views

# `version` is a path segment clients choose (5, 1, or the word version in the seed's examples).
urlpatterns = [
    path("batch/<str:version>/profile", views.ProfileUpload.as_view(), name="profile-upload"),
    path(
        "batch/<str:version>/unstructured/<str:profile_key>/profile",
        views.ProfileDetail.as_view(),
        name="profile-detail",
    ),
    path("longpoll/subscribe", subscriptions.subscribe_view, name="longpoll-subscribe"),
]
