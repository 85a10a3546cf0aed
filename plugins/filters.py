import django_filters
from rest_framework.exceptions import ValidationError

from batchplatform.api.v1 import EpochMillisField
from plugins.models import CronStatus, Execution, ExecutionStatus, ExecutionType, IntegrationBatchInstance, Plugin


class EpochMillisFilter(django_filters.Filter):
    """A date bound given as epoch milliseconds."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        try:
            moment = EpochMillisField().to_internal_value(value)
        except ValidationError:
            raise ValidationError({self.field_name: f"{value!r} is not a date in epoch milliseconds"}) from None
        return qs.filter(**{f"{self.field_name}__{self.lookup_expr}": moment})


class PluginFilter(django_filters.FilterSet):
    plugin_type = django_filters.CharFilter()
    group_id = django_filters.CharFilter()
    artifact_id = django_filters.CharFilter()

    class Meta:
        model = Plugin
        fields = ["plugin_type", "group_id", "artifact_id"]


class InstanceFilter(django_filters.FilterSet):
    group_id = django_filters.CharFilter(field_name="version__plugin__group_id")
    artifact_id = django_filters.CharFilter(field_name="version__plugin__artifact_id")
    cron_status = django_filters.ChoiceFilter(choices=CronStatus.choices)
    is_periodic = django_filters.BooleanFilter(method="filter_is_periodic")
    archived = django_filters.BooleanFilter()

    class Meta:
        model = IntegrationBatchInstance
        fields = ["group_id", "artifact_id", "cron_status", "is_periodic", "archived"]

    def filter_is_periodic(self, queryset, name, value):
        return queryset.filter(cron__isnull=not value)


class ExecutionFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=ExecutionStatus.choices)
    execution_type = django_filters.ChoiceFilter(choices=ExecutionType.choices)
    expected_start_date_from = EpochMillisFilter(field_name="expected_start_date", lookup_expr="gte")
    expected_start_date_to = EpochMillisFilter(field_name="expected_start_date", lookup_expr="lt")
    creation_date_from = EpochMillisFilter(field_name="created_at", lookup_expr="gte")
    creation_date_to = EpochMillisFilter(field_name="created_at", lookup_expr="lt")
    start_date_from = EpochMillisFilter(field_name="start_date", lookup_expr="gte")
    start_date_to = EpochMillisFilter(field_name="start_date", lookup_expr="lt")
    end_date_from = EpochMillisFilter(field_name="end_date", lookup_expr="gte")
    end_date_to = EpochMillisFilter(field_name="end_date", lookup_expr="lt")

    class Meta:
        model = Execution
        fields = ["status", "execution_type"]
