"""Errors in each surface's own format, which the surface declares; the core names no surface.

A surface declares its format by name, in two places (both one line, no import needed):

- on its base view: ``error_format = "envelope"`` (a class attribute), read by DRF's exception
  handler from the view that failed and by the 500 handler from the resolved view;
- in the urls module it mounts with include(): ``error_format = "envelope"`` (a module
  attribute), read by the 404/400/403/500 handlers for paths no view answered (an unknown route).

The formats: "envelope" ({"status": "error", "error", "error_code", "error_id"}), "json"
({"status": <int>, "error": <code>, "message"}, the default for DRF views that declare nothing) and
"text" (the message as text/plain, JSON when the client accepts application/json). Outside any
declaring surface (the admin, /healthz) Django's own error pages answer.
"""

import logging
import uuid

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.urls import URLResolver, get_resolver
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


ENVELOPE = "envelope"
JSON = "json"
TEXT = "text"
ERROR_FORMATS = (ENVELOPE, JSON, TEXT)


def error_format_of_view(view) -> str | None:
    """What a view (an instance or class, or the function as_view() made) declares."""
    view = getattr(view, "view_class", None) or getattr(view, "cls", None) or view
    return getattr(view, "error_format", None)


def _declared_under(path: str, resolver) -> str | None:
    """The format declared by the deepest included urls module whose prefix `path` falls under."""
    for pattern in resolver.url_patterns:
        if not isinstance(pattern, URLResolver):
            continue
        match = pattern.pattern.match(path)
        if match:
            found = _declared_under(match[0], pattern) or getattr(pattern.urlconf_module, "error_format", None)
            if found:
                return found
    return None


def error_format_of_request(request) -> str | None:
    """The format of the view that answered the request, else of the surface its path falls under."""
    match = getattr(request, "resolver_match", None)
    declared = error_format_of_view(match.func) if match is not None else None
    if declared:
        return declared
    return _declared_under(request.path_info.lstrip("/"), get_resolver(getattr(request, "urlconf", None)))


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


def error_body(error_format: str, status_code: int, message: str, error_code: str | None = None, details=None):
    """The JSON body of an error in `error_format` ("text" surfaces send this when JSON is asked for)."""
    code = error_code or ERROR_CODES.get(status_code, "ERROR")
    if error_format == ENVELOPE:
        body = {"status": "error", "error": message, "error_code": code, "error_id": str(uuid.uuid4())}
        if details is not None:
            body["details"] = details
        return body
    # "json", and "text" (whose surfaces send this body when JSON is asked for).
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
    error_format = error_format_of_view(context.get("view")) or JSON
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    set_rollback()
    if error_format == TEXT and not _wants_json(request):
        return HttpResponse(message, status=exc.status_code, headers=headers, content_type="text/plain; charset=utf-8")
    body = error_body(error_format, exc.status_code, message, _error_code_for(exc), details)
    return Response(body, status=exc.status_code, headers=headers)


def _wants_json(request) -> bool:
    return request is not None and "application/json" in request.META.get("HTTP_ACCEPT", "")


def django_error_response(request, status_code: int, message: str):
    """The error in the format the request's surface declares; None outside every surface."""
    error_format = error_format_of_request(request)
    if error_format is None:
        return None
    if error_format == TEXT and not _wants_json(request):
        return HttpResponse(message, status=status_code, content_type="text/plain; charset=utf-8")
    return JsonResponse(error_body(error_format, status_code, message), status=status_code)


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
