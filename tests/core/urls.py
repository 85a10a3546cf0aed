"""Probe views on each surface, to test the shared mechanisms (auth, errors) by themselves."""

from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from batchplatform.api.basic import BasicAuthViewMixin
from batchplatform.api.v1 import V1ViewMixin
from batchplatform.urls import urlpatterns as project_urlpatterns


class ProbeSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=10)
    count = serializers.IntegerField(min_value=0)


class Probe(APIView):
    def get(self, request):
        return Response({"user": request.user.username})

    def post(self, request):
        serializer = ProbeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.validated_data, status=201)


class V1Probe(V1ViewMixin, Probe):
    pass


class BasicProbe(BasicAuthViewMixin, Probe):
    pass


class TextProbe(BasicProbe):
    error_format = "text"


class CrashingProbe(V1ViewMixin, APIView):
    def get(self, request):
        raise RuntimeError("boom")


urlpatterns = [
    *project_urlpatterns,
    path("v1/_probe", V1Probe.as_view()),
    path("v1/_crash", CrashingProbe.as_view()),
    path("ecc/v1/_probe", BasicProbe.as_view()),
    path("solutions/_probe", TextProbe.as_view()),
    # A surface's format follows its view wherever it is mounted.
    path("elsewhere/_text_probe", TextProbe.as_view()),
]
handler404 = "batchplatform.api.errors.handler404"
handler500 = "batchplatform.api.errors.handler500"
