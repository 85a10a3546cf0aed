from django.http import JsonResponse
from django.views.decorators.http import require_safe
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from batchplatform.api.v1 import V1ViewMixin
from batchplatform.health import check_broker, check_database
from batchplatform.serializers import ConnectedUserSerializer


@require_safe
def healthz(request):
    problems = {name: error for name, error in (("database", check_database()), ("broker", check_broker())) if error}
    body = {"status": "ok" if not problems else "error", "database": "ok", "broker": "ok"}
    body.update(problems)
    return JsonResponse(body, status=503 if problems else 200)


class ConnectedUserView(V1ViewMixin, APIView):
    """Who the credential belongs to and the organisation it acts for."""

    @extend_schema(responses=ConnectedUserSerializer)
    def get(self, request):
        return Response(ConnectedUserSerializer(request.user).data)
