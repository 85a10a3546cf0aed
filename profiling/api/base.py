"""What every /solutions view shares: HTTP Basic (403 to bad credentials), the caller's
organisation, text answers unless JSON is asked for, and zip uploads streamed with a size limit."""

from django.http import HttpResponse, JsonResponse
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from batchplatform.api.errors import ApiError
from batchplatform.authentication import SessionAuthentication
from batchplatform.services import organisation_of
from profiling.api.authentication import SolutionsBasicAuthentication
from profiling.api.schema import SolutionsAutoSchema
from profiling.uploads import LimitedTemporaryFileUploadHandler

UPLOAD_FIELDS = ("batch-file", "file")


class SolutionsView(APIView):
    """The /solutions surface: HTTP Basic (or the admin's session), answers in text unless JSON is asked for."""

    error_format = "text"  # batchplatform.api.errors
    schema = SolutionsAutoSchema()
    authentication_classes = [SolutionsBasicAuthentication, SessionAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]

    def caller_organisation(self, request):
        organisation = organisation_of(request.user)
        if organisation is None:
            raise ApiError(403, "This user belongs to no organisation (customer)", "NO_ORGANISATION")
        return organisation


class ZipUploadView(SolutionsView):
    parser_classes = [MultiPartParser]

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body: the zip streams to a temporary file with a size limit.
        request.upload_handlers = [LimitedTemporaryFileUploadHandler(request)]
        _declare_length_of_chunked_body(request)
        return super().initialize_request(request, *args, **kwargs)


def uploaded_zip(request):
    """The zip of a multipart upload, in the field batch-file or file; 400 without one."""
    if not request.content_type.startswith("multipart/form-data"):
        raise ApiError(400, "Send the zip as multipart/form-data in the field batch-file", "NOT_MULTIPART")
    uploaded = next((request.FILES[field] for field in UPLOAD_FIELDS if field in request.FILES), None)
    if uploaded is None:
        raise ApiError(400, "The request has no file part: send the zip in the field batch-file", "MISSING_FILE")
    return uploaded


def wants_json(request) -> bool:
    return "application/json" in request.META.get("HTTP_ACCEPT", "")


def key_answer(request, batch_key, status: str):
    """The GUID as text, or {"batchKey", "status"} when the client asks for JSON."""
    if wants_json(request):
        return JsonResponse({"batchKey": str(batch_key), "status": status})
    return HttpResponse(str(batch_key), content_type="text/plain; charset=utf-8")


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
