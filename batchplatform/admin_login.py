"""The admin's login page, refused with 429 for a username or address that guessed too often
(the same limiter as the APIs), before Django checks the password."""

from django.contrib import admin
from django.template.response import TemplateResponse

from batchplatform import throttle


def admin_login(request, extra_context=None):
    if request.method == "POST":
        wait = throttle.retry_after(
            username=request.POST.get("username", "")[:150] or None, address=throttle.client_address(request)
        )
        if wait is not None:
            context = {**admin.site.each_context(request), "title": "Too many attempts", "retry_after": wait}
            response = TemplateResponse(request, "admin/locked_out.html", context, status=429)
            response["Retry-After"] = str(wait)
            return response
    return admin.site.login(request, extra_context)
