import pytest
from rest_framework.decorators import action
from rest_framework.response import Response

from plugins.api.base import V1ViewSet, routed
from plugins.api.executions import ExecutionViewSet
from plugins.serializers import LogChunkSerializer


def test_a_routed_action_gets_the_settings_its_decorator_declares():
    view = routed(ExecutionViewSet, get="logs")
    assert view.initkwargs["serializer_class"] is LogChunkSerializer
    assert view.initkwargs["pagination_class"] is None
    assert "schema" not in view.initkwargs  # drf-spectacular applies it per action


def test_crud_actions_sharing_a_url_keep_the_viewsets_own_settings():
    view = routed(ExecutionViewSet, get="retrieve", put="update", delete="destroy")
    assert not {"serializer_class", "schema", "pagination_class"} & set(view.initkwargs)


def test_two_extra_actions_cannot_share_a_url():
    class Twice(V1ViewSet):
        @action(detail=True)
        def one(self, request):
            return Response()

        @action(detail=True, methods=["post"])
        def other(self, request):
            return Response()

    with pytest.raises(ValueError, match="one @action per URL"):
        routed(Twice, get="one", post="other")
