"""The request id or task id on every log line, from web, worker and beat alike.

A middleware gives each request an id (the proxy's X-Request-ID when it is a sane token, else a
new one) and echoes it in the response; Celery's task signals set the task's id. A logging
filter copies the current one onto each record, for the plain and the JSON formats (LOG_FORMAT).
"""

import logging
import re
import uuid
from contextlib import contextmanager
from contextvars import ContextVar

from celery.signals import task_postrun, task_prerun

from batchplatform.middleware import EitherModeMiddleware

current_request_id: ContextVar[str] = ContextVar("request_id", default="")
current_task_id: ContextVar[str] = ContextVar("task_id", default="")
_SANE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class ContextFilter(logging.Filter):
    def filter(self, record):
        record.request_id = current_request_id.get()
        record.task_id = current_task_id.get()
        return True


def _id_for(request) -> str:
    given = request.headers.get("X-Request-ID", "")
    return given if _SANE_ID.fullmatch(given) else uuid.uuid4().hex


class RequestIdMiddleware(EitherModeMiddleware):
    @contextmanager
    def around(self, request):
        token = current_request_id.set(_id_for(request))
        try:
            yield
        finally:
            current_request_id.reset(token)

    def after(self, request, response):
        response["X-Request-ID"] = current_request_id.get()
        return response


@task_prerun.connect(dispatch_uid="batchplatform.log_context.task_started")
def _task_started(task_id=None, **kwargs):
    current_task_id.set(task_id or "")


@task_postrun.connect(dispatch_uid="batchplatform.log_context.task_ended")
def _task_ended(**kwargs):
    current_task_id.set("")
