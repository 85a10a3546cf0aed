"""Example plugin: call the platform's own /v1 API, with a token held in a property, and report on executions.

Entry point: `execution_report:run`. Properties (see README.md next to this file):
- `api_url` (URL): the API's base, e.g. `http://127.0.0.1:8000/v1`
- `api_token` (STRING): a token of the organisation (`manage.py createapitoken`), sent as `Authorization`
- `instance_id` (STRING, optional): only this instance's executions; default: the whole organisation's
- `max_executions` (INT, default 1000): how many of the most recent executions to read

Writes `report.json` (counts by status and by instance, the failures with their messages) to the output
directory and sets the same counts as the execution's result. Only the standard library.
"""

import json
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

PAGE = 100


class ReportError(Exception):
    """A problem reaching or reading the API: the execution fails with this message."""


class V1Client:
    """The /v1 conventions: `Authorization: <token>`, the {"status": "ok", "data": ...} envelope,
    lists paged by first_result / max_results."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30):
        if not base_url.lower().startswith(("http://", "https://")):
            raise ReportError(f"api_url must be an http(s) URL, not {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def get(self, path: str, **params) -> dict:
        query = urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})
        url = f"{self.base_url}{path}" + (f"?{query}" if query else "")
        request = urllib.request.Request(url, headers={"Authorization": self.token, "Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                body = json.load(response)
        except urllib.error.HTTPError as error:
            raise ReportError(f"GET {path} answered {error.code}: {_error_message(error)}") from None
        except (OSError, ValueError) as error:
            raise ReportError(f"GET {path} failed: {error}") from None
        if not isinstance(body, dict) or body.get("status") != "ok":
            raise ReportError(f"GET {path} did not answer in the /v1 envelope: {str(body)[:200]}")
        return body

    def pages(self, path: str, *, limit: int, **params):
        first = 0
        while first < limit:
            body = self.get(path, first_result=first, max_results=min(PAGE, limit - first), **params)
            yield from body["data"]
            first += len(body["data"])
            if not body["data"] or first >= body.get("total", 0):
                return


def _error_message(error: urllib.error.HTTPError) -> str:
    try:
        return json.load(error).get("error") or error.reason
    except (OSError, ValueError, AttributeError):
        return str(error.reason)


def run(context):
    props = context.properties
    token = _text(props.get("api_token"))
    base_url = _url(props.get("api_url"))
    if not token or not base_url:
        raise ReportError("set the api_url and api_token properties")
    limit = _int(props.get("max_executions")) or 1000
    instance_id = _text(props.get("instance_id"))

    client = V1Client(base_url, token)
    me = client.get("/connected_user")["data"]
    context.log(
        f"reading executions as {me.get('username') or me.get('id')} (organisation {me.get('organisation_id')})"
    )
    path = (
        f"/integration_batch_instances/{urllib.parse.quote(instance_id)}/executions"
        if instance_id
        else "/integration_batch_instances.executions"
    )
    report = build_report(client.pages(path, limit=limit), context=context, limit=limit)
    Path(context.output_dir, "report.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    summary = {"executions": report["executions"], "by_status": report["by_status"]}
    context.set_result(summary)
    context.log(f"{report['executions']} executions: {report['by_status']}")
    return summary


def build_report(executions, *, context, limit: int) -> dict:
    by_status, by_instance, failures, read = Counter(), Counter(), [], 0
    context.report_progress(num_tasks=limit, completed_tasks=0, erroneous_tasks=0)
    for execution in executions:
        read += 1
        by_status[execution["status"]] += 1
        by_instance[execution.get("external_model_id")] += 1
        if execution["status"] == "FAILED":
            failures.append({"id": execution["id"], "message": (execution.get("error") or {}).get("message")})
        if read % PAGE == 0:
            context.report_progress(num_tasks=limit, completed_tasks=read, erroneous_tasks=0)
    context.report_progress(num_tasks=read, completed_tasks=read, erroneous_tasks=0)
    return {
        "executions": read,
        "by_status": dict(sorted(by_status.items())),
        "by_instance": dict(sorted(by_instance.items())),
        "failures": failures,
    }


# Property values arrive typed; the raw {"value": ...} shapes are accepted too.
def _text(value):
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, str) and value else None


def _int(value):
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _url(value):
    if isinstance(value, dict):
        value = value.get("url")
    return value or None
