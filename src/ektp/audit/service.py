"""Append-only, hash-chained audit trail. ``record`` is the one function every domain service
calls on each write, in the caller's transaction.

Appends are serialised so that the chain never forks: on PostgreSQL with a transaction-scoped
advisory lock taken before the current head is read (held until the appending transaction
commits or rolls back); on SQLite the engine opens every transaction with ``BEGIN IMMEDIATE``, so
there is only ever one writer. The row's id is "head + 1", taken under that lock.

Tampering: triggers refuse UPDATE and DELETE on ``audit_log`` (PostgreSQL also TRUNCATE). Getting
round them needs rights over the table itself (its owner or a superuser, to disable the trigger
or set ``session_replication_role``); the application should therefore run as a database role
that does not own the tables. On SQLite whoever can write the file can drop the triggers. Anyone who does get round them still cannot alter or remove a row
without ``verify_chain`` reporting the first row where the chain breaks. Removing rows at the very
end of the chain cannot be seen from the chain alone: keep the head hash that ``ektp audit verify``
prints somewhere else (a ticket, a signed report) to detect that too."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, SessionTransaction

from ektp.audit.chain import CONTENT_FIELDS, canonical_json, row_hash, to_jsonable
from ektp.auth.permissions import Principal
from ektp.kit.time import utcnow
from ektp.models.audit import GENESIS_HASH, AuditEntry

#: Key of the PostgreSQL advisory lock that serialises appends ("ektp_aud" in ASCII).
AUDIT_APPEND_LOCK_KEY = 0x656B74705F617564

#: Key in ``Session.info`` under which the request id of the current request is kept (set by
#: ``ektp.auth.dependencies.current_principal``); ``record`` copies it into each row.
REQUEST_ID_KEY = "ektp.request_id"

_VERIFY_BATCH = 2000


def snapshot(obj: object, fields: Iterable[str]) -> dict[str, Any]:
    """The named attributes of ``obj`` as a JSON-ready dict, for ``before``/``after``."""
    return {name: to_jsonable(getattr(obj, name)) for name in fields}


#: ``Session.info`` key of the head this session appended last: (transaction, id, row_hash).
_HEAD_KEY = "ektp.audit_head"


@event.listens_for(Session, "after_transaction_end")
def _forget_head(session: Session, transaction: SessionTransaction) -> None:
    """The cached head is only good inside the transaction (and savepoint) that holds the append
    lock and wrote it; flushes' internal sub-transactions (not nested, with a parent) keep it."""
    if transaction.nested or transaction.parent is None:
        session.info.pop(_HEAD_KEY, None)


def _lock_and_read_head(session: Session) -> tuple[int, str]:
    cached = session.info.get(_HEAD_KEY)
    if cached is not None and cached[0] is session.get_transaction():
        # This transaction already holds the append lock and wrote the head itself.
        return int(cached[1]), str(cached[2])
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(AUDIT_APPEND_LOCK_KEY)))
    head = session.execute(
        select(AuditEntry.id, AuditEntry.row_hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
    if head is None:
        return 0, GENESIS_HASH
    return int(head[0]), str(head[1])


def _content(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "recorded_at": entry.recorded_at,
        "actor_user_id": entry.actor_user_id,
        "actor_username": entry.actor_username,
        "actor_role": entry.actor_role,
        "actor_region": entry.actor_region,
        "action": entry.action,
        "entity_type": entry.entity_type,
        "entity_id": entry.entity_id,
        "before_json": entry.before_json,
        "after_json": entry.after_json,
        "request_id": entry.request_id,
    }


def record(
    session: Session,
    *,
    actor: Principal,
    action: str,
    entity_type: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> AuditEntry:
    """Append one audit row (who, when, what, before/after) in the caller's transaction.

    ``before`` and ``after`` are stored as canonical JSON (see ``ektp.audit.chain``); never put
    secrets or password hashes in them. The row is flushed at once, so its id is known."""
    if not action or len(action) > 64:
        raise ValueError("audit action must be 1–64 characters, e.g. 'resident.create'")
    if not entity_type or len(entity_type) > 64:
        raise ValueError("audit entity_type must be 1–64 characters")
    entity_id = str(entity_id)
    if not entity_id or len(entity_id) > 128:
        raise ValueError("audit entity_id must be 1–128 characters")
    head_id, head_hash = _lock_and_read_head(session)
    request_id = session.info.get(REQUEST_ID_KEY)
    entry = AuditEntry(
        id=head_id + 1,
        recorded_at=utcnow(),
        actor_user_id=actor.user_id,
        actor_username=actor.username,
        actor_role=actor.role.value,
        actor_region=actor.region_code,
        action=action,
        entity_type=entity_type,
        entity_id=entity_id,
        before_json=None if before is None else canonical_json(before),
        after_json=None if after is None else canonical_json(after),
        request_id=None if request_id is None else str(request_id)[:64],
        prev_hash=head_hash,
    )
    entry.row_hash = row_hash(head_hash, _content(entry))
    session.add(entry)
    session.flush()
    session.info[_HEAD_KEY] = (session.get_transaction(), entry.id, entry.row_hash)
    return entry


Problem = Literal["altered", "relinked", "missing"]


@dataclass(frozen=True)
class ChainVerification:
    """Outcome of ``verify_chain``. When broken, ``first_bad_id`` is the id of the first row whose
    hash does not match its content ("altered"), whose ``prev_hash`` is not the previous row's
    hash ("relinked"), or that is missing from the sequence of ids ("missing")."""

    intact: bool
    rows_checked: int
    head_id: int | None
    head_hash: str
    first_bad_id: int | None = None
    problem: Problem | None = None
    message: str = ""


_COLUMNS = (
    AuditEntry.id,
    AuditEntry.recorded_at,
    AuditEntry.actor_user_id,
    AuditEntry.actor_username,
    AuditEntry.actor_role,
    AuditEntry.actor_region,
    AuditEntry.action,
    AuditEntry.entity_type,
    AuditEntry.entity_id,
    AuditEntry.before_json,
    AuditEntry.after_json,
    AuditEntry.request_id,
    AuditEntry.prev_hash,
    AuditEntry.row_hash,
)


def count_entries(session: Session) -> int:
    return int(session.execute(select(func.count()).select_from(AuditEntry)).scalar_one())


def verify_chain(
    session: Session, *, progress: Callable[[int, int], None] | None = None
) -> ChainVerification:
    """Walk the whole trail in id order and report the first row where the chain breaks.

    ``progress(rows_checked, total_rows)`` is called every few thousand rows and at the end."""
    total = count_entries(session) if progress is not None else 0
    expected_id = 1
    previous_hash = GENESIS_HASH
    checked = 0
    stream = session.execute(
        select(*_COLUMNS).order_by(AuditEntry.id).execution_options(yield_per=_VERIFY_BATCH)
    )
    for row in stream:
        entry_id = int(row.id)
        if entry_id != expected_id:
            return ChainVerification(
                intact=False,
                rows_checked=checked,
                head_id=expected_id - 1 or None,
                head_hash=previous_hash,
                first_bad_id=expected_id,
                problem="missing",
                message=(
                    f"row {expected_id} is missing (rows {expected_id}–{entry_id - 1} removed)"
                    if entry_id - expected_id > 1
                    else f"row {expected_id} is missing (removed)"
                ),
            )
        content = {name: getattr(row, name) for name in CONTENT_FIELDS}
        if row.prev_hash != previous_hash:
            return ChainVerification(
                intact=False,
                rows_checked=checked,
                head_id=expected_id - 1 or None,
                head_hash=previous_hash,
                first_bad_id=entry_id,
                problem="relinked",
                message=f"row {entry_id}: prev_hash does not match the hash of row {entry_id - 1}",
            )
        if row_hash(row.prev_hash, content) != row.row_hash:
            return ChainVerification(
                intact=False,
                rows_checked=checked,
                head_id=expected_id - 1 or None,
                head_hash=previous_hash,
                first_bad_id=entry_id,
                problem="altered",
                message=f"row {entry_id}: content does not match its hash (altered)",
            )
        checked += 1
        previous_hash = row.row_hash
        expected_id += 1
        if progress is not None and checked % _VERIFY_BATCH == 0:
            progress(checked, total)
    if progress is not None:
        progress(checked, max(total, checked))
    return ChainVerification(
        intact=True,
        rows_checked=checked,
        head_id=checked or None,
        head_hash=previous_hash,
        message=f"{checked} rows, chain intact",
    )
