"""Domain errors. Services raise these, never HTTP exceptions; one handler in ``ektp.app`` maps
them to responses, and the CLI prints them. Each carries a machine-readable code, a message for
people, and (where one field is at fault) the field name and the rule it broke."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong (or worth a warning) with one field."""

    field: str
    rule: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "rule": self.rule, "message": self.message}


@dataclass
class DomainError(Exception):
    message: str
    problems: list[FieldProblem] = field(default_factory=list)
    code: ClassVar[str] = "domain_error"
    status_code: ClassVar[int] = 400

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        if not self.problems:
            return self.message
        details = "; ".join(f"{p.field}: {p.message} [{p.rule}]" for p in self.problems)
        return f"{self.message} ({details})"

    def as_dict(self) -> dict[str, Any]:
        return {
            "error": self.code,
            "message": self.message,
            "problems": [p.as_dict() for p in self.problems],
        }


class ValidationFailed(DomainError):
    code = "validation_failed"
    status_code = 422


class NotFound(DomainError):
    code = "not_found"
    status_code = 404


class Conflict(DomainError):
    code = "conflict"
    status_code = 409


class InvalidState(DomainError):
    code = "invalid_state"
    status_code = 409


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    status_code = 401


class PermissionDenied(DomainError):
    code = "permission_denied"
    status_code = 403


def invalid(field_name: str, rule: str, message: str) -> ValidationFailed:
    """Shorthand for the common case of one field breaking one rule."""
    return ValidationFailed(message, [FieldProblem(field_name, rule, message)])
