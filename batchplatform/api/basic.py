"""The /ecc and /solutions surfaces: HTTP Basic (or the session), plain JSON."""

from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer

from batchplatform.api.v1 import StrictJSONParser
from batchplatform.authentication import BasicAuthentication, SessionAuthentication


class BasicAuthViewMixin:
    authentication_classes = [BasicAuthentication, SessionAuthentication]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]
    parser_classes = [StrictJSONParser, FormParser, MultiPartParser]
