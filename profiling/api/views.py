"""POST /solutions/batch/<version>/profile and GET .../unstructured/<profile key>/profile."""

from django.http import Http404, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema

from profiling import selectors, services
from profiling.api.base import SolutionsView, ZipUploadView, key_answer, uploaded_zip


class ProfileUpload(ZipUploadView):
    @extend_schema(
        summary="Upload a zip of delimited files to be profiled",
        parameters=[OpenApiParameter("batchKey", str, description="A GUID of your choice (else one is generated)")],
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"batch-file": {"type": "string", "format": "binary"}},
            }
        },
        responses={200: OpenApiTypes.STR, 400: OpenApiTypes.STR, 409: OpenApiTypes.STR, 413: OpenApiTypes.STR},
    )
    def post(self, request, version):
        organisation = self.caller_organisation(request)
        batch_key = request.query_params.get("batchKey")
        key = services.parse_batch_key(batch_key) if batch_key is not None else None
        if key is not None:
            services.ensure_batch_key_free(organisation=organisation, batch_key=key)  # before reading the body
        uploaded = uploaded_zip(request)
        batch = services.receive_batch(organisation=organisation, uploaded_file=uploaded, batch_key=key)
        return key_answer(request, batch.batch_key, batch.status)


class ProfileDetail(SolutionsView):
    @extend_schema(
        summary="The batch's profile: the preliminary one while the full one runs",
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.STR},
    )
    def get(self, request, version, profile_key):
        organisation = self.caller_organisation(request)
        if not services.GUID.fullmatch(profile_key):
            raise Http404
        batch = selectors.batch_of(organisation=organisation, batch_key=profile_key)
        if batch is None:
            raise Http404
        return JsonResponse(selectors.profile_document(batch))
