"""The refusals a handler raises, in the business's terms; the edge alone turns them into problem details.

Handlers and stores know nothing of HTTP: they raise one of these with a stable code and a reason, and
`recaudo_common.errors.install_problem_handlers` answers it with the status its kind implies. A consumer that
calls the same handler gets the same refusal, with no web framework in the way.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A request the business rules refuse; `code` is stable, `detail` says why in words a caller can act on."""

    default_title: ClassVar[str] = "Refused"

    def __init__(
        self, code: str, detail: str, *, title: str | None = None,
        errors: list[dict[str, Any]] | None = None, instance: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.title = title or self.default_title
        self.errors = errors
        self.instance = instance


class Invalid(DomainError):
    """The input breaks a business rule (answered 422)."""

    default_title = "Invalid request"


class NotFound(DomainError):
    """The thing asked for does not exist for this caller (answered 404)."""

    default_title = "Not found"

    def __init__(self, what: str) -> None:
        super().__init__("not_found", f"{what} not found")


class Conflict(DomainError):
    """The request contradicts the state of what it touches (answered 409)."""

    default_title = "Conflict"


class PreconditionFailed(DomainError):
    """The caller's If-Match names a state of the document that is no longer current (answered 412)."""

    default_title = "Precondition failed"


class NotAllowed(DomainError):
    """The caller may not do this (answered 403)."""

    default_title = "Forbidden"

    def __init__(self, detail: str = "this key may not do that") -> None:
        super().__init__("forbidden", detail)


class NotRecorded(DomainError):
    """The work was refused by storage in a way that is not the input's fault (answered 500, never retried blindly)."""

    default_title = "Not recorded"
