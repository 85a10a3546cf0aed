"""/solutions answers bad or missing credentials with 403, as the reference API does (valen.md)."""

from batchplatform.authentication import BasicAuthentication


class SolutionsBasicAuthentication(BasicAuthentication):
    def authenticate_header(self, request):
        return None  # no challenge: DRF then answers 403 rather than 401
