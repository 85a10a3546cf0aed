"""The /v1 routes, each a viewset's actions (plugins.api), routed explicitly: the API family's URL
shapes (`technical_name=<name>`, `integration_batch_instances.executions`) are not a router's."""

from django.urls import path

from batchplatform import converters  # noqa: F401  (registers <id:...>)
from plugins.api.base import routed
from plugins.api.executions import ExecutionViewSet
from plugins.api.instances import InstanceViewSet
from plugins.api.plugins import PluginViewSet, VersionViewSet
from plugins.api.root import V1Root

error_format = "envelope"  # of an unknown /v1 route (batchplatform.api.errors)

PLUGIN = "plugins/<id:plugin_id>"
VERSION = f"{PLUGIN}/versions/<str:version_ref>"
INSTANCE = "integration_batch_instances/<id:instance_id>"
EXECUTION = f"{INSTANCE}/executions/<id:execution_id>"

urlpatterns = [
    path("", V1Root.as_view(), name="v1-root"),
    # Plugins and their versions
    path("plugins", routed(PluginViewSet, get="list", post="create"), name="plugin-list"),
    path(PLUGIN, routed(PluginViewSet, get="retrieve", put="update"), name="plugin-detail"),
    path(f"{PLUGIN}/versions", routed(VersionViewSet, get="list", post="create"), name="version-list"),
    path(VERSION, routed(VersionViewSet, get="retrieve", delete="destroy"), name="version-detail"),
    path(f"{VERSION}/properties", routed(VersionViewSet, get="properties")),
    path(f"{VERSION}/archive", routed(VersionViewSet, put="upload_code")),
    path(f"{VERSION}/archived", routed(VersionViewSet, post="archive")),
    # Instances and their properties
    path("integration_batch_instances", routed(InstanceViewSet, get="list", post="create"), name="instance-list"),
    path(
        "integration_batch_instances.executions",
        routed(ExecutionViewSet, get="organisation_list"),
        name="organisation-execution-list",
    ),
    path(INSTANCE, routed(InstanceViewSet, get="retrieve", put="update", delete="destroy"), name="instance-detail"),
    path(f"{INSTANCE}/properties", routed(InstanceViewSet, get="properties")),
    path(
        f"{INSTANCE}/properties/technical_name=<str:technical_name>",
        routed(InstanceViewSet, put="set_property"),
    ),
    # Executions and their output
    path(f"{INSTANCE}/executions", routed(ExecutionViewSet, get="list", post="create")),
    path(
        EXECUTION,
        routed(ExecutionViewSet, get="retrieve", put="update", delete="destroy"),
        name="execution-detail",
    ),
    path(f"{EXECUTION}/logs", routed(ExecutionViewSet, get="logs"), name="execution-log"),
    path(f"{EXECUTION}/artifacts", routed(ExecutionViewSet, get="artifacts"), name="execution-artifacts"),
    path(
        f"{EXECUTION}/artifacts/<path:name>",
        routed(ExecutionViewSet, get="artifact"),
        name="execution-artifact",
    ),
]
