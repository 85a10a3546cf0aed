"""Failed sign-ins counted per username and per client address, so guessing is refused cheaply.

Counts live in the cache (shared by every web process with CACHE_URL; per process in the
embedded default), in fixed windows. Past a threshold the caller refuses the attempt before the
password hasher runs (a PBKDF2 check costs ~0.4 s of CPU here). A lock-out is also written to
the database when it begins, a rare event, so operators can see and clear it in the admin.
"""

import hashlib
import math
import time
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction

from batchplatform.errors import DomainError
from batchplatform.models import LoginLockout

USERNAME = LoginLockout.Kind.USERNAME
ADDRESS = LoginLockout.Kind.ADDRESS


class TooManyAttempts(DomainError):
    status_code = 429
    default_code = "TOO_MANY_ATTEMPTS"

    def __init__(self, retry_after: int):
        super().__init__(f"Too many failed sign-in attempts; try again in {retry_after} seconds.")
        self.retry_after = retry_after


def client_address(request) -> str:
    """The peer's address, or the one a trusted proxy put in TRUSTED_PROXY_HEADER: the
    TRUSTED_PROXY_COUNT-th from the right, since a client can forge everything left of it."""
    meta = getattr(request, "META", {}) if request is not None else {}
    if settings.TRUSTED_PROXY_HEADER:
        key = "HTTP_" + settings.TRUSTED_PROXY_HEADER.upper().replace("-", "_")
        hops = [hop.strip() for hop in meta.get(key, "").split(",") if hop.strip()]
        if len(hops) >= settings.TRUSTED_PROXY_COUNT:
            return hops[-settings.TRUSTED_PROXY_COUNT][:64]
    return (meta.get("REMOTE_ADDR") or "unknown")[:64]


def _limit(kind: str) -> int:
    return settings.LOGIN_FAILURES_PER_USERNAME if kind == USERNAME else settings.LOGIN_FAILURES_PER_ADDRESS


def _key(kind: str, value: str) -> str:
    # Hashed: usernames may hold characters memcached-style keys refuse, and keys stay short.
    return f"login-failures:{kind}:{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}"


def _subjects(username: str | None, address: str | None):
    if username:
        yield USERNAME, username
    if address:
        yield ADDRESS, address


def retry_after(*, username: str | None, address: str | None) -> int | None:
    """Seconds until these may try again, or None when they may try now."""
    keys = {_key(kind, value): kind for kind, value in _subjects(username, address)}
    now = time.time()
    waits = [
        math.ceil(entry[1] - now)
        for key, entry in cache.get_many(list(keys)).items()
        if entry[0] >= _limit(keys[key]) and entry[1] > now
    ]
    return max(waits) if waits else None


def check(*, username: str | None, address: str | None) -> None:
    wait = retry_after(username=username, address=address)
    if wait is not None:
        raise TooManyAttempts(max(wait, 1))


def record_failure(*, username: str | None, address: str | None) -> None:
    window = settings.LOGIN_FAILURE_WINDOW
    for kind, value in _subjects(username, address):
        key = _key(kind, value)
        # (count, window end). Not atomic across processes: two racing failures may count as
        # one, which only delays a lock-out by an attempt.
        now = time.time()
        count, ends = cache.get(key) or (0, now + window)
        if ends <= now:  # the last window is over (a cache may keep an entry past its expiry)
            count, ends = 0, now + window
        count += 1
        cache.set(key, (count, ends), timeout=max(1, math.ceil(ends - now)))
        if count == _limit(kind):
            _remember_lockout(kind, value, count, ends)


def _remember_lockout(kind: str, value: str, failures: int, ends: float) -> None:
    until = datetime.fromtimestamp(ends, tz=UTC)
    try:
        with transaction.atomic():
            LoginLockout.objects.update_or_create(
                kind=kind, value=value[:150], defaults={"failures": failures, "locked_until": until}
            )
    except IntegrityError:  # a concurrent lock-out of the same subject wrote it first
        pass


def reset_username(username: str) -> None:
    cache.delete(_key(USERNAME, username))
    LoginLockout.objects.filter(kind=USERNAME, value=username[:150]).delete()


def clear_lockout(lockout: LoginLockout) -> None:
    """An operator lifts a lock-out before its window ends."""
    cache.delete(_key(lockout.kind, lockout.value))
    lockout.delete()
