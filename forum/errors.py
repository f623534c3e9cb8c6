"""Domain exceptions raised by policy and services, mapped to responses by the blueprints."""

from __future__ import annotations


class ForumError(Exception):
    """Base class: carries a machine-readable code and a message a person can read."""

    status = 400
    code = "error"

    def __init__(self, message: str = "", *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message or self.__class__.default_message()
        if code is not None:
            self.code = code

    @classmethod
    def default_message(cls) -> str:
        return "Something went wrong."


class NotFound(ForumError):
    """Not there, or not visible to the actor: the two must be indistinguishable."""

    status = 404
    code = "not_found"

    @classmethod
    def default_message(cls) -> str:
        return "Not found."


class Denied(ForumError):
    """The actor can see the thing but may not do this to it."""

    status = 403
    code = "forbidden"

    @classmethod
    def default_message(cls) -> str:
        return "You may not do that."


class NotLoggedIn(ForumError):
    status = 401
    # The contract's name for "nobody is logged in" (bad tokens: `invalid_token`).
    code = "not_logged_in"

    @classmethod
    def default_message(cls) -> str:
        return "Please log in."


class Conflict(ForumError):
    status = 409
    code = "conflict"


class RateLimited(ForumError):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str = "", *, retry_after: int = 60) -> None:
        super().__init__(message or "Too many attempts. Please wait and try again.")
        self.retry_after = retry_after


class Invalid(ForumError):
    """Bad input; `fields` maps each offending field to a message."""

    status = 400
    code = "invalid"

    def __init__(self, field: str | dict[str, str], message: str = "") -> None:
        self.fields = field if isinstance(field, dict) else {field: message}
        first = next(iter(self.fields.values()), "Invalid input.")
        super().__init__(first)
