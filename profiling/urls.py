from django.urls import path

from profiling.api import views

# `version` is a path segment clients choose (5, 1, or the word version in the seed's examples).
# GET /solutions/longpoll/subscribe is served by a long-poll consumer (profiling/routing.py).
error_format = "text"  # of an unknown /solutions route (batchplatform.api.errors)
urlpatterns = [
    path("batch/<str:version>/profile", views.ProfileUpload.as_view(), name="profile-upload"),
    path(
        "batch/<str:version>/unstructured/<str:profile_key>/profile",
        views.ProfileDetail.as_view(),
        name="profile-detail",
    ),
]
