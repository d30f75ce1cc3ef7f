"""The audit trail in the database: appends, append-only triggers, tamper detection and
concurrent appenders."""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ektp.audit import repository
from ektp.audit.service import REQUEST_ID_KEY, record, snapshot, verify_chain
from ektp.auth.permissions import SYSTEM, Principal, Role
from ektp.db.engine import make_engine
from ektp.db.migrate import upgrade
from ektp.db.session import unit_of_work
from ektp.models.audit import GENESIS_HASH, AuditEntry
from tests.scratch_postgres import create_database, drop_database

OPERATOR = Principal(user_id=12, username="siti", role=Role.REGIONAL_OPERATOR, region_code="32.04")


def _append(session: Session, n: int, *, actor: Principal = SYSTEM) -> list[AuditEntry]:
    return [
        record(
            session,
            actor=actor,
            action="thing.update",
            entity_type="thing",
            entity_id=str(i),
            before={"value": i},
            after={"value": i + 1, "when": dt.date(2017, 12, 31), "name": "Ñoman"},
        )
        for i in range(n)
    ]


def _disable_append_only(session: Session) -> None:
    """Undo the append-only triggers inside the test's transaction (rolled back afterwards), as
    someone with rights over the table could."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    else:
        session.execute(text("DROP TRIGGER audit_log_no_update"))
        session.execute(text("DROP TRIGGER audit_log_no_delete"))


class TestRecord:
    def test_appends_a_chained_row(self, session: Session) -> None:
        first, second = _append(session, 2, actor=OPERATOR)
        assert second.id == first.id + 1
        assert second.prev_hash == first.row_hash
        assert (second.actor_user_id, second.actor_username, second.actor_role, second.actor_region) == (
            12,
            "siti",
            "regional_operator",
            "32.04",
        )
        assert second.before == {"value": 1}
        assert second.after == {"value": 2, "when": "2017-12-31", "name": "Ñoman"}
        assert second.after_json == '{"name":"Ñoman","value":2,"when":"2017-12-31"}'
        assert second.recorded_at.tzinfo is not None

    def test_a_rolled_back_savepoint_does_not_break_the_chain(self, session: Session) -> None:
        (before,) = _append(session, 1)
        savepoint = session.begin_nested()
        _append(session, 2)
        savepoint.rollback()
        (after,) = _append(session, 1)
        assert after.id == before.id + 1
        assert after.prev_hash == before.row_hash
        assert verify_chain(session).intact

    def test_appends_after_a_commit_continue_the_chain(self, session: Session) -> None:
        (first,) = _append(session, 1)
        session.commit()
        (second,) = _append(session, 1)
        assert (second.id, second.prev_hash) == (first.id + 1, first.row_hash)

    def test_keeps_the_request_id_of_the_session(self, session: Session) -> None:
        session.info[REQUEST_ID_KEY] = "req-1"
        try:
            assert _append(session, 1)[0].request_id == "req-1"
        finally:
            del session.info[REQUEST_ID_KEY]

    def test_none_before_or_after_is_stored_as_null(self, session: Session) -> None:
        entry = record(
            session,
            actor=SYSTEM,
            action="thing.create",
            entity_type="thing",
            entity_id="1",
            before=None,
            after=None,
        )
        assert entry.before_json is None
        assert entry.after_json is None

    def test_refuses_an_empty_action(self, session: Session) -> None:
        with pytest.raises(ValueError, match="action"):
            record(
                session, actor=SYSTEM, action="", entity_type="thing", entity_id="1", before=None, after={}
            )

    def test_snapshot_takes_named_attributes(self) -> None:
        class Thing:
            name = "Budi"
            born = dt.date(1990, 1, 1)
            role = Role.VIEWER

        assert snapshot(Thing(), ["name", "born", "role"]) == {
            "name": "Budi",
            "born": "1990-01-01",
            "role": "viewer",
        }

    def test_history_and_tail(self, session: Session) -> None:
        entries = _append(session, 3)
        assert [e.id for e in repository.history(session, entity_type="thing", entity_id="1")] == [
            entries[1].id
        ]
        assert [e.id for e in repository.tail(session, limit=2)] == [entries[1].id, entries[2].id]


class TestAppendOnly:
    def test_update_through_the_orm_is_refused(self, session: Session) -> None:
        entry = _append(session, 1)[0]
        savepoint = session.begin_nested()
        entry.after_json = '{"value":999}'
        with pytest.raises(DBAPIError, match="append-only"):
            session.flush()
        savepoint.rollback()

    def test_delete_is_refused(self, session: Session) -> None:
        entry = _append(session, 1)[0]
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": entry.id})

    def test_truncate_is_refused_on_postgresql(self, session: Session, backend: str) -> None:
        if backend != "postgresql":
            pytest.skip("SQLite has no TRUNCATE")
        _append(session, 1)
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text("TRUNCATE audit_log"))


class TestVerifyChain:
    def test_intact_chain_verifies(self, session: Session) -> None:
        entries = _append(session, 5)
        calls: list[tuple[int, int]] = []
        result = verify_chain(session, progress=lambda done, total: calls.append((done, total)))
        assert result.intact, result.message
        assert result.head_id == entries[-1].id
        assert result.head_hash == entries[-1].row_hash
        assert result.rows_checked == entries[-1].id
        assert calls[-1] == (result.rows_checked, result.rows_checked)

    def test_altered_row_is_reported(self, session: Session) -> None:
        entries = _append(session, 5)
        _disable_append_only(session)
        session.execute(
            text("UPDATE audit_log SET after_json = :v WHERE id = :id"),
            {"v": '{"value":0}', "id": entries[2].id},
        )
        result = verify_chain(session)
        assert not result.intact
        assert (result.first_bad_id, result.problem) == (entries[2].id, "altered")
        assert result.rows_checked == entries[2].id - 1

    def test_altered_actor_is_reported(self, session: Session) -> None:
        entries = _append(session, 3)
        _disable_append_only(session)
        session.execute(
            text("UPDATE audit_log SET actor_username = 'someone-else' WHERE id = :id"), {"id": entries[0].id}
        )
        result = verify_chain(session)
        assert (result.first_bad_id, result.problem) == (entries[0].id, "altered")

    def test_rehashed_forgery_is_reported_at_the_next_row(self, session: Session) -> None:
        from ektp.audit.chain import row_hash

        entries = _append(session, 4)
        target = entries[1]
        _disable_append_only(session)
        forged = {
            name: getattr(target, name) for name in ("id", "recorded_at", "actor_user_id", "actor_username")
        }
        forged |= {
            "actor_role": target.actor_role,
            "actor_region": target.actor_region,
            "action": target.action,
            "entity_type": target.entity_type,
            "entity_id": target.entity_id,
            "before_json": target.before_json,
            "after_json": '{"value":0}',
            "request_id": target.request_id,
        }
        session.execute(
            text("UPDATE audit_log SET after_json = :v, row_hash = :h WHERE id = :id"),
            {"v": '{"value":0}', "h": row_hash(target.prev_hash, forged), "id": target.id},
        )
        result = verify_chain(session)
        assert (result.first_bad_id, result.problem) == (entries[2].id, "relinked")

    def test_removed_row_is_reported_as_a_gap(self, session: Session) -> None:
        entries = _append(session, 5)
        _disable_append_only(session)
        session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": entries[3].id})
        result = verify_chain(session)
        assert not result.intact
        assert (result.first_bad_id, result.problem) == (entries[3].id, "missing")
        assert f"row {entries[3].id} is missing" in result.message

    def test_removed_first_row_is_reported(self, session: Session) -> None:
        _append(session, 2)
        first_id = session.scalar(select(func.min(AuditEntry.id)))
        _disable_append_only(session)
        session.execute(text("DELETE FROM audit_log WHERE id = :id"), {"id": first_id})
        result = verify_chain(session)
        assert (result.first_bad_id, result.problem) == (1, "missing")


# --- concurrency: a throw-away database, because the appends must really commit ---------------

POSTGRES_URL = os.environ.get("EKTP_TEST_POSTGRES_URL", "")


@pytest.fixture(params=["sqlite", "postgresql"])
def scratch_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated, empty database that nothing else uses, dropped afterwards."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'audit-concurrency.sqlite3'}"
        upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("EKTP_TEST_POSTGRES_URL not set")
    url, name = create_database(POSTGRES_URL, "ektp_audit")
    try:
        upgrade(url)
        engine = make_engine(url)
        yield engine
        engine.dispose()
    finally:
        drop_database(POSTGRES_URL, name)


class TestConcurrentAppends:
    THREADS = 2
    APPENDS = 50

    def test_two_writers_never_fork_the_chain(self, scratch_engine: Engine) -> None:
        errors: list[BaseException] = []
        start = threading.Barrier(self.THREADS)

        def writer(worker: int) -> None:
            try:
                start.wait()
                for i in range(self.APPENDS):
                    with unit_of_work(scratch_engine) as session:
                        record(
                            session,
                            actor=SYSTEM,
                            action="thing.update",
                            entity_type="thing",
                            entity_id=f"{worker}-{i}",
                            before=None,
                            after={"worker": worker, "i": i},
                        )
            except BaseException as exc:  # reported below, with the thread's traceback lost otherwise
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(self.THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not errors, errors
        with unit_of_work(scratch_engine) as session:
            result = verify_chain(session)
            ids = list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))
            workers = {e.split("-")[0] for e in session.scalars(select(AuditEntry.entity_id))}
        assert result.intact, result.message
        assert result.rows_checked == self.THREADS * self.APPENDS
        assert ids == list(range(1, self.THREADS * self.APPENDS + 1))
        assert workers == {"0", "1"}
        with unit_of_work(scratch_engine) as session:
            first = session.get(AuditEntry, 1)
            assert first is not None
            assert first.prev_hash == GENESIS_HASH

    def test_empty_trail_verifies(self, scratch_engine: Engine) -> None:
        with unit_of_work(scratch_engine) as session:
            result = verify_chain(session)
        assert result.intact
        assert result.rows_checked == 0
        assert result.head_id is None
        assert result.head_hash == GENESIS_HASH
