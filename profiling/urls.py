from django.urls import path, re_path

from profiling.api import submissions, views

# `version` is a path segment clients choose (5, 1, or the word version in the seed's examples).
# GET /solutions/longpoll/subscribe is served by a long-poll consumer (profiling/routing.py).
API_VERSION = r"(?P<version>(?:[1-9][0-9]{0,8}|version))"
NAME = r"[A-Za-z0-9_-]{1,60}"
error_format = "text"  # of an unknown /solutions route (batchplatform.api.errors)
urlpatterns = [
    path("batch/<str:version>/profile", views.ProfileUpload.as_view(), name="profile-upload"),
    path(
        "batch/<str:version>/unstructured/<str:profile_key>/profile",
        views.ProfileDetail.as_view(),
        name="profile-detail",
    ),
    re_path(
        r"^batch/(?P<line_of_business>[A-Za-z0-9_-]{1,40})/consortium$",
        submissions.ConsortiumUpload.as_view(),
        name="consortium-upload",
    ),
    re_path(
        rf"^batch/{API_VERSION}/(?P<solution>{NAME})/(?P<submission>{NAME})/(?P<profile_key>[^/]{{1,100}})/submit$",
        submissions.SubmitProfiled.as_view(),
        name="submission-submit",
    ),
    re_path(
        rf"^batch/{API_VERSION}/(?P<solution>{NAME})/(?P<submission>{NAME})$",
        submissions.SubmitUpload.as_view(),
        name="submission-upload",
    ),
    re_path(
        rf"^batch/{API_VERSION}/(?P<solution>{NAME})/(?P<submission>{NAME})/(?P<batch_key>[^/]{{1,100}})$",
        submissions.SubmissionResults.as_view(),
        name="submission-results",
    ),
]
