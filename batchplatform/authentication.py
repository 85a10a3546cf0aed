"""The three ways in: a raw API token (/v1), HTTP Basic (/ecc, /solutions), the session (admin)."""

from rest_framework import authentication, exceptions

from batchplatform.services import authenticate_api_token, verify_basic_credentials


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
        token = authenticate_api_token(header)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked API token.")
        return token.user, token

    def authenticate_header(self, request):
        # A WWW-Authenticate value makes DRF answer 401 rather than 403.
        return 'Token realm="api"'


class BasicAuthentication(authentication.BasicAuthentication):
    www_authenticate_realm = "batchplatform"

    def authenticate_credentials(self, userid, password, request=None):
        user = verify_basic_credentials(userid, password, request)
        if user is None:
            raise exceptions.AuthenticationFailed("Invalid username/password.")
        return user, None


class SessionAuthentication(authentication.SessionAuthentication):
    """The browsable API and admin users; CSRF is enforced as usual for unsafe methods."""
