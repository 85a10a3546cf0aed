"""Submitting batches to a solution and fetching the results (seeds/batch-and-profiling.md,
reference/valen.md):

- GET|POST /solutions/batch/<version>/<solution>/<submission>/<profile key>/submit
- POST     /solutions/batch/<version>/<solution>/<submission>[?batchKey=<GUID>]
- GET      /solutions/batch/<version>/<solution>/<submission>/<GUID>
- POST     /solutions/batch/<line-of-business>/consortium

`solutionVersion=x.y.z` on any of them selects a release other than the current one.
Decided where the references are silent: submitting a batch still being profiled is a 409 (say
so, do not wait); the results of a FAILED submission are a 422 with the reason; a purged
submission answers 404, as an unknown GUID does.
"""

import logging

from django.http import FileResponse, HttpResponseNotModified
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from batchplatform.api.errors import ApiError
from batchplatform.errors import NotFound
from profiling import results, selectors, services
from profiling.api.base import SolutionsView, ZipUploadView, key_answer, uploaded_zip
from profiling.models import SubmissionStatus
from profiling.services.solutions import RELEASE_VERSION

logger = logging.getLogger(__name__)

VERSION_PATTERN = r"^(?:[1-9][0-9]{0,8}|version)$"
NAME_PATTERN = r"^[A-Za-z0-9_-]{1,60}$"

CONSORTIUM_LINES = ("wc", "ca", "gl")

SOLUTION_VERSION = OpenApiParameter(
    "solutionVersion", str, description="A release x.y.z other than the current one (future-dated ones too)"
)
BATCH_KEY = OpenApiParameter("batchKey", str, description="A GUID of your choice (else one is generated)")
ZIP_BODY = {"multipart/form-data": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}}
TEXT_ERRORS = {status: OpenApiTypes.STR for status in (400, 403, 404, 405, 409, 413)}


def _path(name: str, description: str, example: str, pattern: str) -> OpenApiParameter:
    return OpenApiParameter(
        name,
        str,
        OpenApiParameter.PATH,
        required=True,
        description=description,
        pattern=pattern,
        examples=[OpenApiExample(example, value=example)],
    )


# Path parameters with the examples a client (and the fuzzer's examples phase) starts from.
SUBMISSION_PATH = [
    _path("version", "The API version: a positive integer (5, 1) or the word version", "5", VERSION_PATTERN),
    _path("solution", "The solution, e.g. insureright", "insureright", NAME_PATTERN),
    _path("submission", "The submission type, e.g. scoring", "scoring", NAME_PATTERN),
]
GUID_EXAMPLE = "fdb46259-6eb0-4f6d-860d-a7886b05b138"
PROFILE_KEY = _path("profile_key", "The batch key of a profiled batch", GUID_EXAMPLE, r"^[^/]{1,100}$")
RESULTS_KEY = _path("batch_key", "The batch key the submission answered", GUID_EXAMPLE, r"^[^/]{1,100}$")


def requested_version(request) -> str | None:
    version = request.query_params.get("solutionVersion")
    if version is None:
        return None
    if not RELEASE_VERSION.fullmatch(version):
        raise ApiError(
            400, f"solutionVersion must be x.y.z, e.g. 1.0.0, not {version[:40]!r}", "INVALID_SOLUTION_VERSION"
        )
    return version


class SubmissionView(SolutionsView):
    def submission_type(self, request, organisation, solution: str, submission: str):
        version = requested_version(request)
        submission_type = selectors.submission_type_for(
            organisation=organisation, solution_name=solution, submission_name=submission, version=version
        )
        if submission_type is None:
            release = f"release {version}" if version else "a current release"
            raise NotFound(f"No solution {solution[:60]} with {release} and a submission type {submission[:60]}")
        return submission_type


class SubmitUpload(ZipUploadView, SubmissionView):
    @extend_schema(
        summary="Upload a zip, profile it and submit it in one go; answers the batch's GUID at once",
        description="The submission waits for the full profile, is checked against the submission type, then runs. "
        "Follow it with batchUpdatedEvent (RECEIVED, PROCESSING, COMPLETED or FAILED with its reason).",
        parameters=[*SUBMISSION_PATH, BATCH_KEY, SOLUTION_VERSION],
        request=ZIP_BODY,
        responses={200: OpenApiTypes.STR, **TEXT_ERRORS},
    )
    def post(self, request, version, solution, submission):
        organisation = self.caller_organisation(request)
        submission_type = self.submission_type(request, organisation, solution, submission)
        batch_key = request.query_params.get("batchKey")
        key = services.parse_batch_key(batch_key) if batch_key is not None else None
        if key is not None:
            services.ensure_batch_key_free(organisation=organisation, batch_key=key)  # before reading the body
        submitted = services.receive_and_submit(
            organisation=organisation,
            uploaded_file=uploaded_zip(request),
            submission_type=submission_type,
            batch_key=key,
        )
        return key_answer(request, submitted.batch.batch_key, submitted.status)


def _submit_schema(summary: str, **extra):
    # GET (the seed's) and POST submit alike.
    return extend_schema(
        summary=summary,
        description="The profile is checked against the submission type first: missing required nodes or "
        "columns, or typed columns with too many bad values, are a 400 naming them, and nothing runs. "
        "A batch still being profiled is a 409.",
        parameters=[*SUBMISSION_PATH, PROFILE_KEY, SOLUTION_VERSION],
        responses={200: OpenApiTypes.STR, **TEXT_ERRORS},
        **extra,
    )


class SubmitProfiled(SubmissionView):
    def _submit(self, request, solution, submission, profile_key):
        organisation = self.caller_organisation(request)
        submission_type = self.submission_type(request, organisation, solution, submission)
        if not services.GUID.fullmatch(profile_key):
            raise NotFound(f"No batch with the key {profile_key[:60]}")
        submitted = services.submit_profiled_batch(
            organisation=organisation, batch_key=services.parse_batch_key(profile_key), submission_type=submission_type
        )
        return key_answer(request, submitted.batch.batch_key, submitted.status)

    @_submit_schema("Submit a profiled batch (its full profile must be COMPLETED); answers its GUID")
    def get(self, request, version, solution, submission, profile_key):
        return self._submit(request, solution, submission, profile_key)

    @_submit_schema("Submit a profiled batch (as GET)", request=None)
    def post(self, request, version, solution, submission, profile_key):
        return self._submit(request, solution, submission, profile_key)


class SubmissionResults(SubmissionView):
    @extend_schema(
        summary="The results zip of a submission",
        description="404 while it is received or processing, for an unknown GUID, and once its results were "
        "removed (SOLUTIONS_RESULTS_RETENTION_DAYS); 200 with the zip when COMPLETED; 422 with the reason when "
        "it FAILED.",
        parameters=[*SUBMISSION_PATH, RESULTS_KEY, SOLUTION_VERSION],
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The results zip"),
            304: OpenApiResponse(description="Not modified (If-None-Match)"),
            422: OpenApiTypes.STR,
            **TEXT_ERRORS,
        },
    )
    def get(self, request, version, solution, submission, batch_key):
        organisation = self.caller_organisation(request)
        solution_version = requested_version(request)
        found = (
            selectors.submission_of(
                organisation=organisation,
                batch_key=services.parse_batch_key(batch_key),
                solution_name=solution,
                submission_name=submission,
                version=solution_version,
            )
            if services.GUID.fullmatch(batch_key)
            else None
        )
        if found is None:
            raise NotFound(f"No submission {batch_key[:60]} to {solution[:60]}/{submission[:60]}", "UNKNOWN_SUBMISSION")
        if found.status == SubmissionStatus.FAILED:
            raise ApiError(422, f"The submission {batch_key} failed: {found.failure_reason}", "SUBMISSION_FAILED")
        if found.status != SubmissionStatus.COMPLETED:
            raise NotFound(f"The results of {batch_key} are not ready yet (status {found.status})", "NOT_READY")
        etag = f'"{found.pk}-{found.runs}-{found.results_size}"'
        if etag in [tag.strip() for tag in request.META.get("HTTP_IF_NONE_MATCH", "").split(",")]:
            return HttpResponseNotModified(headers={"ETag": etag})
        try:
            stored = results.open_results(found.results_name)
        except FileNotFoundError:
            # The row says COMPLETED but the storage lost the zip (removed by hand, a restored backup).
            logger.error("the results zip %s of submission %s is not in the storage", found.results_name, found.pk)
            raise ApiError(
                404,
                f"The results of {batch_key} are no longer in the storage; they can be produced again by a resubmit",
                "RESULTS_MISSING",
            ) from None
        response = FileResponse(
            stored,
            as_attachment=True,
            filename=f"{found.batch.batch_key}-{found.submission_type.name}-results.zip",
            content_type="application/zip",
        )
        response["Content-Length"] = str(found.results_size)
        response["ETag"] = etag
        return response


class ConsortiumUpload(ZipUploadView):
    @extend_schema(
        summary="Contribute consortium data (wc, ca or gl): stored and profiled, answered with its GUID",
        parameters=[
            _path("line_of_business", "wc, ca or gl", "wc", r"^[A-Za-z0-9_-]{1,40}$"),
            BATCH_KEY,
        ],
        request=ZIP_BODY,
        responses={200: OpenApiTypes.STR, **TEXT_ERRORS},
    )
    def post(self, request, line_of_business):
        organisation = self.caller_organisation(request)
        if line_of_business not in CONSORTIUM_LINES:
            raise NotFound(f"No consortium for {line_of_business[:40]!r}: use one of {', '.join(CONSORTIUM_LINES)}")
        batch_key = request.query_params.get("batchKey")
        key = services.parse_batch_key(batch_key) if batch_key is not None else None
        if key is not None:
            services.ensure_batch_key_free(organisation=organisation, batch_key=key)
        batch = services.receive_batch(
            organisation=organisation, uploaded_file=uploaded_zip(request), batch_key=key, consortium=line_of_business
        )
        return key_answer(request, batch.batch_key, batch.status)
