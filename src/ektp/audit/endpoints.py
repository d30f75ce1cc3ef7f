"""HTTP API of the audit trail: search it, and check its hash chain."""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ektp.audit import repository, service
from ektp.audit.schemas import AuditEntryOut, AuditFilter, ChainVerificationOut
from ektp.auth.dependencies import require
from ektp.auth.permissions import Permission, Principal, Role
from ektp.dependencies import SessionDep
from ektp.kit.errors import PermissionDenied, invalid
from ektp.kit.pagination import Page, PageParams

router = APIRouter(prefix="/audit", tags=["audit"])

AuditReader = Annotated[Principal, Depends(require(Permission.AUDIT_READ))]

#: Roles that may run a full verification (it reads the whole trail).
VERIFY_ROLES = frozenset({Role.CENTRAL_ADMIN, Role.AUDITOR})


@router.get("", response_model=Page[AuditEntryOut])
def list_entries(
    session: SessionDep,
    principal: AuditReader,
    filters: Annotated[AuditFilter, Query()],
    page: Annotated[PageParams, Query()],
) -> Page[AuditEntryOut]:
    """Audit rows, newest first. A principal with a region sees only rows made by actors of its region."""
    if filters.since is not None and filters.until is not None and filters.until <= filters.since:
        raise invalid("until", "after_since", "until must be later than since")
    rows = repository.search(
        session,
        entity_type=filters.entity_type,
        entity_id=filters.entity_id,
        actor=filters.actor,
        since=filters.since,
        until=filters.until,
        actor_region=principal.region_code,
        offset=page.offset,
        limit=page.size + 1,
    )
    return Page[AuditEntryOut](
        items=[AuditEntryOut.model_validate(row) for row in rows[: page.size]],
        page=page.page,
        size=page.size,
        has_next=len(rows) > page.size,
    )


@router.get("/verify", response_model=ChainVerificationOut)
def verify(session: SessionDep, principal: AuditReader) -> ChainVerificationOut:
    """Walk the whole hash chain and report the first altered or missing row (central
    administrators and auditors only)."""
    if principal.role not in VERIFY_ROLES or principal.region_code is not None:
        raise PermissionDenied("Only central administrators and auditors may verify the audit chain.")
    result = service.verify_chain(session)
    return ChainVerificationOut(**dataclasses.asdict(result))
