"""Organisations, members and credentials: every write the admin, API and commands share."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from batchplatform import throttle
from batchplatform.models import ApiToken, Membership, Organisation

TOKEN_PREFIX = "bp_"  # noqa: S105  (a marker that helps secret scanners, not a secret)
# Touching last_used_at on every request would turn every read into a write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def create_organisation(*, slug: str, name: str = "") -> Organisation:
    organisation = Organisation(slug=slug, name=name or slug)
    organisation.full_clean()
    organisation.save()
    return organisation


def generate_password() -> str:
    return secrets.token_urlsafe(18)


@transaction.atomic
def create_api_user(*, organisation: Organisation, username: str, password: str | None = None):
    """Returns (user, password); the password is generated when none is given."""
    password = password or generate_password()
    user = get_user_model()(username=username)
    user.set_password(password)
    user.full_clean(exclude=["password"])
    user.save()
    membership = Membership(user=user, organisation=organisation)
    membership.full_clean(exclude=["user"])
    membership.save()
    return user, password


def digest_token(raw: str) -> str:
    # Tokens carry 256 bits of randomness, so a plain hash is enough (no slow KDF needed).
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(*, user, name: str = "") -> tuple[ApiToken, str]:
    """Returns (token row, raw token). The raw token exists only in this return value."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=raw[:10], digest=digest_token(raw))
    return token, raw


def revoke_api_token(*, token: ApiToken) -> None:
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def authenticate_api_token(raw: str, request=None) -> ApiToken | None:
    """The token's row, or None. A client address that sent too many wrong tokens is refused
    (TooManyAttempts) before any lookup."""
    address = throttle.client_address(request) if request is not None else None
    throttle.check(username=None, address=address)
    token = (
        ApiToken.objects.select_related("user", "user__membership__organisation")
        .filter(digest=digest_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        throttle.record_failure(username=None, address=address)
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def organisation_of(user) -> Organisation | None:
    membership = getattr(user, "membership", None) if user and user.is_authenticated else None
    return membership.organisation if membership else None


def _credential_key(username: str, password: str) -> str:
    mac = hmac.new(settings.SECRET_KEY.encode(), f"{username}\0{password}".encode(), hashlib.sha256)
    return "basic-auth:" + mac.hexdigest()


def verify_basic_credentials(username: str, password: str, request=None):
    """The user these Basic credentials belong to, or None.

    A password check costs Django's full key derivation (about 0.4 s of CPU here), which Basic
    auth would pay on every call. A verified pair is remembered in this process for a few
    minutes under a keyed hash, never the password itself; a changed password or a deactivated
    user no longer matches.

    Failures count per username and client address; past the threshold the check is refused
    with TooManyAttempts before the hasher runs. Remembered pairs still pass: they were proven,
    and someone guessing a user's password must not lock that user's running integration out."""
    if "\x00" in username or "\x00" in password:
        return None  # no such user, and PostgreSQL refuses NUL in a query
    key = _credential_key(username, password)
    remembered = cache.get(key)
    if remembered is not None:
        user_id, password_hash = remembered
        user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
        if user is not None and user.password == password_hash:
            return user
    address = throttle.client_address(request)
    throttle.check(username=username, address=address)
    # authenticate() sends user_login_failed on failure, which counts it (batchplatform/signals.py).
    user = authenticate(request, username=username, password=password)
    if user is not None and user.is_active:
        throttle.reset_username(username)
        cache.set(key, (user.pk, user.password), settings.BASIC_AUTH_CACHE_SECONDS)
        return user
    return None
