"""Domain errors that services raise; every surface turns them into its own error format."""


class DomainError(Exception):
    status_code = 400
    default_code = "BAD_REQUEST"

    def __init__(self, message: str, code: str | None = None, *, details=None):
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.details = details


class Invalid(DomainError):
    default_code = "VALIDATION_ERROR"


class NotFound(DomainError):
    status_code = 404
    default_code = "NOT_FOUND"


class Conflict(DomainError):
    status_code = 409
    default_code = "CONFLICT"
