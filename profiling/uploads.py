"""Streaming uploads: the zip goes to a temporary file chunk by chunk, never whole into memory,
and an upload past PROFILING_MAX_UPLOAD_BYTES is refused while it streams."""

from django.conf import settings
from django.core.files.uploadhandler import TemporaryFileUploadHandler

from batchplatform.api.errors import ApiError

# Room for the multipart envelope (boundaries, part headers) around the file itself.
ENVELOPE_BYTES = 64 * 1024


def too_large(limit: int) -> ApiError:
    return ApiError(413, f"The upload is larger than the limit of {limit} bytes", "UPLOAD_TOO_LARGE")


class LimitedTemporaryFileUploadHandler(TemporaryFileUploadHandler):
    def __init__(self, request=None, max_bytes: int | None = None):
        super().__init__(request)
        self.max_bytes = max_bytes or settings.PROFILING_MAX_UPLOAD_BYTES
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # A declared length over the limit is refused before a byte of the body is read.
        if content_length and content_length > self.max_bytes + ENVELOPE_BYTES:
            raise too_large(self.max_bytes)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > self.max_bytes:
            self.file.close()  # a temporary file: closing deletes it
            raise too_large(self.max_bytes)
        return super().receive_data_chunk(raw_data, start)
