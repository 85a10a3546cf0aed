"""What every /v1 viewset shares: the conventions of batchplatform.api.v1, listing with the
organisation filter, input parsing, and routing a viewset's actions to one URL."""

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiParameter
from rest_framework.viewsets import GenericViewSet

from batchplatform.api.v1 import V1ViewMixin
from batchplatform.tenancy import resolve_organisation

# Query parameter of every organisation-wide listing (V1ViewSet.listing).
ORGANISATION_FILTER = OpenApiParameter("organisation_id", str, description="Only this organisation's objects")


def parsed(serializer_class, request, **kwargs) -> dict:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class V1ViewSet(V1ViewMixin, GenericViewSet):
    filter_backends = [DjangoFilterBackend]

    def listing(self, queryset, serializer_class):
        organisation_id = self.request.query_params.get("organisation_id")
        if organisation_id:
            organisation = resolve_organisation(user=self.request.user, organisation_id=organisation_id)
            queryset = queryset.filter(organisation=organisation)
        page = self.paginate_queryset(self.filter_queryset(queryset))
        return self.get_paginated_response(serializer_class(page, many=True).data)


def routed(viewset, **mapping: str):
    """The view of one URL: HTTP methods mapped to the viewset's actions, with the settings an
    @action declares (serializer, paging, renderers), as a router passes them for an extra action."""
    extra_actions = [
        getattr(viewset, name) for name in set(mapping.values()) if hasattr(getattr(viewset, name), "mapping")
    ]
    if len(extra_actions) > 1:
        raise ValueError(f"one @action per URL: {sorted(mapping.values())}")
    # drf-spectacular's extend_schema leaves its schema class in the kwargs; it applies that per
    # action when it writes the document, and it must not become every method's schema.
    initkwargs = {key: value for key, value in getattr(next(iter(extra_actions), None), "kwargs", {}).items()}
    initkwargs.pop("schema", None)
    return viewset.as_view(mapping, **initkwargs)
