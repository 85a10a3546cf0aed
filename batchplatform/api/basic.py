"""The /ecc and /solutions surfaces: HTTP Basic (or the session), plain JSON."""

from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer

from batchplatform.authentication import BasicAuthentication, SessionAuthentication


class BasicAuthViewMixin:
    authentication_classes = [BasicAuthentication, SessionAuthentication]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
