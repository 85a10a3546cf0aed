"""Every failed sign-in through Django's authenticate() (HTTP Basic and the admin login) counts
towards the lock-out of its username and client address; a successful admin login clears the
username's count (Basic does so in verify_basic_credentials)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver

from batchplatform import throttle


@receiver(user_login_failed, dispatch_uid="batchplatform.count_failed_sign_in")
def count_failed_sign_in(sender, credentials, request=None, **kwargs):
    address = throttle.client_address(request) if request is not None else None
    throttle.record_failure(username=credentials.get("username"), address=address)


@receiver(user_logged_in, dispatch_uid="batchplatform.clear_failed_sign_ins")
def clear_failed_sign_ins(sender, request, user, **kwargs):
    throttle.reset_username(user.get_username())
