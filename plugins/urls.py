from django.urls import path

from batchplatform import converters  # noqa: F401  (registers <id:...>)
from plugins import output_views, views

error_format = "envelope"  # of an unknown /v1 route (batchplatform.api.errors)

urlpatterns = [
    path("plugins", views.PluginList.as_view(), name="plugin-list"),
    path("plugins/<id:plugin_id>", views.PluginDetail.as_view(), name="plugin-detail"),
    path("plugins/<id:plugin_id>/versions", views.VersionList.as_view(), name="version-list"),
    path("plugins/<id:plugin_id>/versions/<str:version_ref>", views.VersionDetail.as_view(), name="version-detail"),
    path("plugins/<id:plugin_id>/versions/<str:version_ref>/properties", views.VersionProperties.as_view()),
    path("plugins/<id:plugin_id>/versions/<str:version_ref>/archive", views.VersionCode.as_view()),
    path("plugins/<id:plugin_id>/versions/<str:version_ref>/archived", views.VersionArchiveFlag.as_view()),
    path("integration_batch_instances", views.InstanceList.as_view(), name="instance-list"),
    path("integration_batch_instances.executions", views.OrganisationExecutionList.as_view()),
    path("integration_batch_instances/<id:instance_id>", views.InstanceDetail.as_view(), name="instance-detail"),
    path("integration_batch_instances/<id:instance_id>/properties", views.InstanceProperties.as_view()),
    path(
        "integration_batch_instances/<id:instance_id>/properties/technical_name=<str:technical_name>",
        views.InstanceProperty.as_view(),
    ),
    path("integration_batch_instances/<id:instance_id>/executions", views.ExecutionList.as_view()),
    path(
        "integration_batch_instances/<id:instance_id>/executions/<id:execution_id>",
        views.ExecutionDetail.as_view(),
        name="execution-detail",
    ),
    path(
        "integration_batch_instances/<id:instance_id>/executions/<id:execution_id>/logs",
        output_views.ExecutionLog.as_view(),
        name="execution-log",
    ),
    path(
        "integration_batch_instances/<id:instance_id>/executions/<id:execution_id>/artifacts",
        output_views.ExecutionArtifacts.as_view(),
        name="execution-artifacts",
    ),
    path(
        "integration_batch_instances/<id:instance_id>/executions/<id:execution_id>/artifacts/<path:name>",
        output_views.ExecutionArtifact.as_view(),
        name="execution-artifact",
    ),
]
