"""A base for the project's middleware that runs in whichever mode, sync or async, the stack
around it has, so it never costs a thread hop."""

from contextlib import AbstractContextManager, nullcontext

from asgiref.sync import iscoroutinefunction, markcoroutinefunction


class EitherModeMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def around(self, request) -> AbstractContextManager:
        """What holds for the whole request (entered before the view, left after it)."""
        return nullcontext()

    def after(self, request, response):
        return response

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self._acall(request)
        with self.around(request):
            return self.after(request, self.get_response(request))

    async def _acall(self, request):
        with self.around(request):
            return self.after(request, await self.get_response(request))
