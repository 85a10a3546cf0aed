"""POST /solutions/batch/<version>/profile and GET .../unstructured/<profile key>/profile."""

from django.http import Http404, HttpResponse, JsonResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from batchplatform.api.errors import ApiError
from batchplatform.authentication import SessionAuthentication
from batchplatform.services import organisation_of
from profiling import selectors, services
from profiling.api.authentication import SolutionsBasicAuthentication
from profiling.uploads import LimitedTemporaryFileUploadHandler

UPLOAD_FIELDS = ("batch-file", "file")


class SolutionsView(APIView):
    """The /solutions surface: HTTP Basic (or the admin's session), answers in text unless JSON is asked for."""

    error_format = "text"  # batchplatform.api.errors
    authentication_classes = [SolutionsBasicAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]

    def caller_organisation(self, request):
        organisation = organisation_of(request.user)
        if organisation is None:
            raise ApiError(403, "This user belongs to no organisation (customer)", "NO_ORGANISATION")
        return organisation


def wants_json(request) -> bool:
    return "application/json" in request.META.get("HTTP_ACCEPT", "")


class ProfileUpload(SolutionsView):
    parser_classes = [MultiPartParser]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body: the zip streams to a temporary file with a size limit.
        request.upload_handlers = [LimitedTemporaryFileUploadHandler(request)]
        _declare_length_of_chunked_body(request)
        return super().initialize_request(request, *args, **kwargs)

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
        if not request.content_type.startswith("multipart/form-data"):
            raise ApiError(400, "Send the zip as multipart/form-data in the field batch-file", "NOT_MULTIPART")
        uploaded = next((request.FILES[field] for field in UPLOAD_FIELDS if field in request.FILES), None)
        if uploaded is None:
            raise ApiError(400, "The request has no file part: send the zip in the field batch-file", "MISSING_FILE")
        batch = services.receive_batch(organisation=organisation, uploaded_file=uploaded, batch_key=key)
        if wants_json(request):
            return JsonResponse({"batchKey": str(batch.batch_key), "status": batch.status})
        return HttpResponse(str(batch.batch_key), content_type="text/plain; charset=utf-8")


def _declare_length_of_chunked_body(request) -> None:
    """A chunked upload (curl -T, streaming clients) has no Content-Length, and Django's multipart
    parser reads nothing without one. Under ASGI the body is already spooled (limit_uploads
    counted it on the way in): its size is the length."""
    if request.META.get("CONTENT_LENGTH") not in (None, "", "0"):
        return
    body = getattr(request, "_stream", None)
    if body is None or not hasattr(body, "seek") or not hasattr(body, "tell"):
        return
    try:
        body.seek(0, 2)
        request.META["CONTENT_LENGTH"] = str(body.tell())
        body.seek(0)
    except (OSError, ValueError):
        return  # not a file we can measure (WSGI's stream): Django answers as it would


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
