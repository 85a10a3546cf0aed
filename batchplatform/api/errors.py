"""Errors in each surface's own format, chosen by path: /v1 (envelope), /ecc (JSON), /solutions (text).

Used by DRF's exception handler and by the project's 404/405/500 handlers, so an unknown route
or a crash answers in the same shape as a validation error.
"""

import logging
import uuid

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from batchplatform.errors import DomainError

logger = logging.getLogger(__name__)

ERROR_CODES = {
    400: "BAD_REQUEST",
    401: "AUTHENTICATION_FAILED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    409: "CONFLICT",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    422: "UNPROCESSABLE_ENTITY",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
    503: "SERVICE_UNAVAILABLE",
}
# A lost database connection (a restart, a fail-over) is worth a retry, not a 500: the pool
# replaces the connection on the next request (bench/faults.py).
DATABASE_RETRY_AFTER = 5


class ApiError(exceptions.APIException):
    """An error with a code a program can switch on, e.g. ApiError(409, "...", "DUPLICATE")."""

    def __init__(self, status_code: int, message: str, error_code: str | None = None, details=None):
        super().__init__(detail=message)
        self.status_code = status_code
        self.error_code = error_code or ERROR_CODES.get(status_code, "ERROR")
        self.details = details


def surface_of(path: str) -> str:
    if path.startswith("/v1/") or path == "/v1":
        return "v1"
    if path.startswith("/ecc/"):
        return "ecc"
    if path.startswith("/solutions/"):
        return "solutions"
    return "other"


def _message_and_details(detail) -> tuple[str, object]:
    if isinstance(detail, dict):
        parts = []
        for field, field_errors in detail.items():
            text = "; ".join(_flatten(field_errors if isinstance(field_errors, list) else [field_errors]))
            parts.append(text if field == "non_field_errors" else f"{field}: {text}")
        return " ".join(parts) or "Invalid input.", detail
    if isinstance(detail, list):
        return "; ".join(_flatten(detail)), detail
    return str(detail), None


def _flatten(errors) -> list[str]:
    out = []
    for error in errors:
        if isinstance(error, dict):
            out.append(_message_and_details(error)[0])
        elif isinstance(error, list):
            out.extend(_flatten(error))
        else:
            out.append(str(error))
    return out


def error_body(surface: str, status_code: int, message: str, error_code: str | None = None, details=None):
    code = error_code or ERROR_CODES.get(status_code, "ERROR")
    if surface == "v1":
        body = {"status": "error", "error": message, "error_code": code, "error_id": str(uuid.uuid4())}
        if details is not None:
            body["details"] = details
        return body
    body = {"status": status_code, "error": code, "message": message}
    if details is not None:
        body["details"] = details
    return body


def _error_code_for(exc) -> str | None:
    if isinstance(exc, ApiError):
        return exc.error_code
    if isinstance(exc, exceptions.ValidationError):
        return "VALIDATION_ERROR"
    if isinstance(exc, exceptions.ParseError):
        return "MALFORMED_REQUEST"
    if isinstance(exc, exceptions.NotAuthenticated):
        return "NOT_AUTHENTICATED"
    return None


def exception_handler(exc, context):
    request = context.get("request")
    path = request.path if request is not None else ""
    if isinstance(exc, DomainError):
        exc = ApiError(exc.status_code, exc.message, exc.code, exc.details)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = ApiError(413, "Request body too large.")
    elif isinstance(exc, OperationalError | InterfaceError):
        logger.warning("database unavailable: %s", exc)
        exc = ApiError(503, "The database is unavailable; try again shortly.")
        exc.wait = DATABASE_RETRY_AFTER
    if not isinstance(exc, exceptions.APIException):
        return None  # a crash: Django's handler500 answers in the surface's format
    message, details = _message_and_details(exc.detail)
    if isinstance(exc, ApiError) and exc.details is not None:
        details = exc.details
    surface = surface_of(path)
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    set_rollback()
    if surface == "solutions" and not _wants_json(request):
        return HttpResponse(message, status=exc.status_code, headers=headers, content_type="text/plain; charset=utf-8")
    body = error_body(surface, exc.status_code, message, _error_code_for(exc), details)
    return Response(body, status=exc.status_code, headers=headers)


def _wants_json(request) -> bool:
    return request is not None and "application/json" in request.META.get("HTTP_ACCEPT", "")


def django_error_response(request, status_code: int, message: str):
    surface = surface_of(request.path)
    if surface == "other":
        return None
    if surface == "solutions" and not _wants_json(request):
        return HttpResponse(message, status=status_code, content_type="text/plain; charset=utf-8")
    return JsonResponse(error_body(surface, status_code, message), status=status_code)


def handler404(request, exception=None):
    response = django_error_response(request, status.HTTP_404_NOT_FOUND, "Not found.")
    if response is not None:
        return response
    return defaults.page_not_found(request, exception)


def handler500(request):
    response = django_error_response(request, 500, "Internal error; it has been logged.")
    if response is not None:
        return response
    return defaults.server_error(request)


def handler400(request, exception=None):
    response = django_error_response(request, 400, "Bad request.")
    if response is not None:
        return response
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    response = django_error_response(request, 403, "Permission denied.")
    if response is not None:
        return response
    return defaults.permission_denied(request, exception)
