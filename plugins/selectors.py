"""The reads the API and the admin share, scoped to the caller's organisation."""

from django.shortcuts import get_object_or_404

from batchplatform.tenancy import scope_to_caller
from plugins.models import Execution, IntegrationBatchInstance, Plugin, PluginVersion
from plugins.services import find_version


def plugins_for(request):
    return scope_to_caller(Plugin.objects.all(), request)


def plugin_for(request, plugin_id) -> Plugin:
    return get_object_or_404(plugins_for(request), pk=plugin_id)


def version_for(request, plugin_id, version_ref) -> PluginVersion:
    return find_version(plugin=plugin_for(request, plugin_id), version_ref=str(version_ref))


def instances_for(request):
    return scope_to_caller(IntegrationBatchInstance.objects.select_related("version__plugin"), request)


def instance_for(request, instance_id) -> IntegrationBatchInstance:
    return get_object_or_404(instances_for(request), pk=instance_id)


def executions_for(request):
    return scope_to_caller(Execution.objects.all(), request)


def execution_for(request, instance_id, execution_id) -> Execution:
    return get_object_or_404(executions_for(request), pk=execution_id, instance_id=instance_id)
