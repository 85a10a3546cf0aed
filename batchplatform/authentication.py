"""The three ways in: a raw API token (/v1), HTTP Basic (/ecc, /solutions), the session (admin)."""

from rest_framework import authentication, exceptions

from batchplatform.basic_auth import MalformedBasicCredentials, decode_basic_authorization
from batchplatform.services import authenticate_api_token, verify_basic_credentials
from batchplatform.throttle import TooManyAttempts


def _throttled(refused: TooManyAttempts) -> exceptions.Throttled:
    return exceptions.Throttled(wait=refused.retry_after, detail=refused.message)


class RawTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: <token>`, the raw value with no scheme word, as the /v1 family sends it."""

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").strip()
        if not header:
            return None
        if " " in header:
            scheme = header.split(" ", 1)[0].lower()
            if scheme in {"basic", "bearer", "token"}:
                # Tolerate a scheme word some clients add; Basic belongs to other surfaces.
                if scheme == "basic":
                    return None
                header = header.split(" ", 1)[1].strip()
        try:
            token = authenticate_api_token(header, request)
        except TooManyAttempts as refused:
            raise _throttled(refused) from None
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        return token.user, token

    def authenticate_header(self, request):
        # A WWW-Authenticate value makes DRF answer 401 rather than 403.
        return 'Token realm="api"'


class BasicAuthentication(authentication.BasicAuthentication):
    www_authenticate_realm = "batchplatform"

    def authenticate(self, request):
        try:
            credentials = decode_basic_authorization(authentication.get_authorization_header(request))
        except MalformedBasicCredentials as malformed:
            raise exceptions.AuthenticationFailed(str(malformed)) from None
        if credentials is None:
            return None
        return self.authenticate_credentials(*credentials, request)

    def authenticate_credentials(self, userid, password, request=None):
        try:
            user = verify_basic_credentials(userid, password, request)
        except TooManyAttempts as refused:
            raise _throttled(refused) from None
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid username/password.")
        return user, None


class SessionAuthentication(authentication.SessionAuthentication):
    """The browsable API and admin users; CSRF is enforced as usual for unsafe methods."""
