"""Organisations, members and credentials: every write the admin, API and commands share."""

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

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
    Membership.objects.create(user=user, organisation=organisation)
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


def authenticate_api_token(raw: str) -> ApiToken | None:
    token = (
        ApiToken.objects.select_related("user", "user__membership__organisation")
        .filter(digest=digest_token(raw), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


def organisation_of(user) -> Organisation | None:
    membership = getattr(user, "membership", None) if user and user.is_authenticated else None
    return membership.organisation if membership else None
