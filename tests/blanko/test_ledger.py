"""The blank ledger: posting, FIFO, reversal, physical counts, rebuild, stock card, and the
database's own refusals (negative balances, edits of ledger rows)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ektp.auth.permissions import SYSTEM, Principal, Role
from ektp.blanko import contracts, ledger
from ektp.blanko.ledger import InsufficientStock, Movement
from ektp.kit.errors import Conflict, InvalidState, ValidationFailed
from ektp.kit.pagination import PageParams
from ektp.models.audit import AuditEntry
from ektp.models.blanko import LedgerEntry, LedgerEvent, LedgerReason, Location, StockBalance
from tests.factories.blanko import FACTORY_DATE, location, make_lot, make_lot_at

OPERATOR = Principal(
    user_id=None, username="operator-bandung", role=Role.REGIONAL_OPERATOR, region_code="32.04"
)
DAY = dt.date(2017, 2, 1)


def _print(
    session: Session, lot_location: str, lot: object, quantity: int, doc: str = "PRN-1"
) -> LedgerEvent:
    assert hasattr(lot, "id")
    return ledger.post(
        session,
        reason=LedgerReason.PRINT,
        movements=[
            Movement(
                from_location=location(session, lot_location),
                to_location=location(session, "PRINTED"),
                lot=lot,  # type: ignore[arg-type]
                quantity=quantity,
            )
        ],
        document_no=doc,
        business_date=DAY,
        actor=OPERATOR,
    )


class TestLocations:
    def test_every_current_province_and_regency_gets_an_office(self, session: Session) -> None:
        contracts.ensure_locations(session)
        counts = {
            str(kind): int(n)
            for kind, n in session.execute(select(Location.kind, func.count()).group_by(Location.kind))
        }
        assert counts["province"] == 38
        assert counts["regency"] == 514
        assert counts["centre"] == 1
        for code in ("SUPPLIER", "IN_TRANSIT", "PRINTED", "SPOILED", "LOST", "ADJUSTMENT"):
            assert location(session, code).is_virtual
        assert location(session, "REG:32.04").region_code == "32.04"
        assert location(session, "PROV:32").kind == "province"

    def test_is_idempotent(self, session: Session) -> None:
        contracts.ensure_locations(session)
        again = contracts.ensure_locations(session)
        assert again.created == 0
        assert again.total == 38 + 514 + 1 + 6


class TestPost:
    def test_a_receipt_moves_blanks_from_the_supplier_to_the_centre(self, session: Session) -> None:
        lot = make_lot(session, quantity=500)
        assert ledger.balance(session, location(session, "CENTRE"), lot) == 500
        assert ledger.balance(session, location(session, "SUPPLIER"), lot) == -500

    def test_entries_of_an_event_sum_to_zero_per_lot(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=100)
        event = _print(session, "REG:32.04", lot, 30)
        entries = ledger.entries_of(session, event)
        assert sorted(e.quantity for e in entries) == [-30, 30]
        assert sum(e.quantity for e in entries) == 0
        assert ledger.balance(session, location(session, "REG:32.04"), lot) == 70
        assert ledger.balance(session, location(session, "PRINTED"), lot) == 30

    def test_records_who_and_when(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=10)
        event = _print(session, "REG:32.04", lot, 1, doc="PRN-7")
        assert (event.reason, event.document_no, event.business_date) == ("PRINT", "PRN-7", DAY)
        assert event.recorded_by_username == "operator-bandung"
        assert event.recorded_at.tzinfo is not None
        session.expire_all()
        stored = session.get(LedgerEvent, event.id)
        assert stored is not None
        assert (stored.reason, stored.document_no, stored.recorded_by_username) == (
            "PRINT",
            "PRN-7",
            "operator-bandung",
        )
        assert stored.recorded_at == event.recorded_at

    def test_taking_more_than_held_is_refused_and_leaves_nothing(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=10)
        events_before = session.scalar(select(func.count()).select_from(LedgerEvent))
        with pytest.raises(InsufficientStock) as caught:
            _print(session, "REG:32.04", lot, 11)
        assert caught.value.status_code == 409
        assert (caught.value.location_code, caught.value.available, caught.value.requested) == (
            "REG:32.04",
            10,
            11,
        )
        assert caught.value.lot_no == lot.lot_no
        # the caller's transaction goes on, untouched
        assert ledger.balance(session, location(session, "REG:32.04"), lot) == 10
        assert session.scalar(select(func.count()).select_from(LedgerEvent)) == events_before
        _print(session, "REG:32.04", lot, 10)
        assert ledger.balance(session, location(session, "REG:32.04"), lot) == 0

    def test_taking_from_an_office_that_never_held_the_lot_is_refused(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=10)
        with pytest.raises(InsufficientStock) as caught:
            _print(session, "REG:32.73", lot, 1)
        assert caught.value.available == 0

    @pytest.mark.parametrize(
        ("reason", "source", "target"),
        [
            (LedgerReason.PRINT, "CENTRE", "PRINTED"),
            (LedgerReason.PRINT, "PROV:32", "PRINTED"),
            (LedgerReason.RECEIPT_FROM_SUPPLIER, "SUPPLIER", "REG:32.04"),
            (LedgerReason.TRANSFER, "REG:32.04", "PRINTED"),
            (LedgerReason.SPOIL, "PRINTED", "SPOILED"),
        ],
    )
    def test_a_reason_moves_blanks_only_between_its_kinds_of_location(
        self, session: Session, reason: LedgerReason, source: str, target: str
    ) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=10)
        with pytest.raises(ValidationFailed) as caught:
            ledger.post(
                session,
                reason=reason,
                movements=[Movement(location(session, source), location(session, target), lot, 1)],
                document_no="X",
                business_date=DAY,
                actor=SYSTEM,
            )
        assert caught.value.problems[0].field == "movements[0].to_location"
        assert caught.value.problems[0].rule == "route_allowed"

    @pytest.mark.parametrize(
        ("quantity", "rule"), [(0, "positive"), (-5, "positive"), (1.5, "integer"), (True, "integer")]
    )
    def test_quantities_are_positive_whole_numbers(
        self, session: Session, quantity: object, rule: str
    ) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=10)
        with pytest.raises(ValidationFailed) as caught:
            _print(session, "REG:32.04", lot, quantity)  # type: ignore[arg-type]
        assert (caught.value.problems[0].field, caught.value.problems[0].rule) == (
            "movements[0].quantity",
            rule,
        )

    def test_a_business_date_in_the_future_is_refused(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=10)
        with pytest.raises(ValidationFailed) as caught:
            ledger.post(
                session,
                reason=LedgerReason.PRINT,
                movements=[Movement(location(session, "REG:32.04"), location(session, "PRINTED"), lot, 1)],
                document_no="X",
                business_date=ledger.latest_business_date() + dt.timedelta(days=1),
                actor=SYSTEM,
            )
        assert caught.value.problems[0].field == "business_date"
        assert caught.value.problems[0].rule == "not_in_future"

    def test_a_movement_before_the_lot_arrived_is_refused(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=10)
        with pytest.raises(ValidationFailed) as caught:
            ledger.post(
                session,
                reason=LedgerReason.PRINT,
                movements=[Movement(location(session, "REG:32.04"), location(session, "PRINTED"), lot, 1)],
                document_no="X",
                business_date=FACTORY_DATE - dt.timedelta(days=1),
                actor=SYSTEM,
            )
        assert caught.value.problems[0].rule == "not_before_lot_receipt"

    def test_a_document_number_is_required_and_the_reason_known(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=10)
        move = [Movement(location(session, "REG:32.04"), location(session, "PRINTED"), lot, 1)]
        with pytest.raises(ValidationFailed) as caught:
            ledger.post(
                session,
                reason=LedgerReason.PRINT,
                movements=move,
                document_no=" ",
                business_date=DAY,
                actor=SYSTEM,
            )
        assert caught.value.problems[0].field == "document_no"
        with pytest.raises(ValidationFailed) as caught:
            ledger.post(
                session, reason="STOLEN", movements=move, document_no="X", business_date=DAY, actor=SYSTEM
            )  # type: ignore[arg-type]
        assert caught.value.problems[0].field == "reason"

    def test_a_lot_is_never_received_beyond_its_quantity(self, session: Session) -> None:
        lot = make_lot(session, quantity=100)
        with pytest.raises(Conflict) as caught:
            ledger.post(
                session,
                reason=LedgerReason.RECEIPT_FROM_SUPPLIER,
                movements=[Movement(location(session, "SUPPLIER"), location(session, "CENTRE"), lot, 1)],
                document_no="X",
                business_date=DAY,
                actor=SYSTEM,
            )
        assert caught.value.problems[0].rule == "within_lot"
        assert ledger.balance(session, location(session, "CENTRE"), lot) == 100

    def test_several_movements_in_one_event(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=100)
        bandung, printed, spoiled = (location(session, c) for c in ("REG:32.04", "PRINTED", "SPOILED"))
        event = ledger.post(
            session,
            reason=LedgerReason.SPOIL,
            movements=[Movement(bandung, spoiled, lot, 3), Movement(bandung, spoiled, lot, 2)],
            document_no="SPL-1",
            business_date=DAY,
            actor=OPERATOR,
        )
        assert [(e.location_id, e.quantity) for e in ledger.entries_of(session, event)] == sorted(
            [(bandung.id, -5), (spoiled.id, 5)]
        )
        assert ledger.balance(session, printed) == 0


class TestFifo:
    def test_takes_the_oldest_lots_first(self, session: Session) -> None:
        old = make_lot_at(session, "REG:32.04", quantity=30, business_date=dt.date(2017, 1, 10))
        new = make_lot_at(session, "REG:32.04", quantity=50, business_date=dt.date(2017, 1, 20))
        event = ledger.post_fifo(
            session,
            reason=LedgerReason.PRINT,
            from_location=location(session, "REG:32.04"),
            to_location=location(session, "PRINTED"),
            quantity=40,
            document_no="PRN-FIFO",
            business_date=DAY,
            actor=OPERATOR,
        )
        bandung = location(session, "REG:32.04")
        assert ledger.balance(session, bandung, old) == 0
        assert ledger.balance(session, bandung, new) == 40
        assert {e.lot_id for e in ledger.entries_of(session, event)} == {old.id, new.id}

    def test_refuses_more_than_the_location_holds(self, session: Session) -> None:
        make_lot_at(session, "REG:32.04", quantity=30)
        with pytest.raises(InsufficientStock) as caught:
            ledger.post_fifo(
                session,
                reason=LedgerReason.PRINT,
                from_location=location(session, "REG:32.04"),
                to_location=location(session, "PRINTED"),
                quantity=31,
                document_no="PRN",
                business_date=DAY,
                actor=OPERATOR,
            )
        assert (caught.value.available, caught.value.requested, caught.value.lot_no) == (30, 31, None)

    def test_skips_quarantined_lots(self, session: Session) -> None:
        bad = make_lot_at(session, "REG:32.04", quantity=30, business_date=dt.date(2017, 1, 10))
        good = make_lot_at(session, "REG:32.04", quantity=30, business_date=dt.date(2017, 1, 20))
        contracts.set_lot_status(session, lot=bad, status=contracts.LotStatus.QUARANTINED, actor=SYSTEM)
        ledger.post_fifo(
            session,
            reason=LedgerReason.PRINT,
            from_location=location(session, "REG:32.04"),
            to_location=location(session, "PRINTED"),
            quantity=10,
            document_no="PRN",
            business_date=DAY,
            actor=OPERATOR,
        )
        assert ledger.balance(session, location(session, "REG:32.04"), bad) == 30
        assert ledger.balance(session, location(session, "REG:32.04"), good) == 20

    def test_needs_a_location_that_holds_blanks(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as caught:
            ledger.post_fifo(
                session,
                reason=LedgerReason.RECEIPT_FROM_SUPPLIER,
                from_location=location(session, "SUPPLIER"),
                to_location=location(session, "CENTRE"),
                quantity=1,
                document_no="X",
                business_date=DAY,
                actor=SYSTEM,
            )
        assert caught.value.problems[0].field == "from_location"


class TestReverse:
    def test_restores_the_balances_and_links_the_events(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=100)
        event = _print(session, "REG:32.04", lot, 40)
        reversal = ledger.reverse(session, event=event, actor=SYSTEM, reason_note="printed in error")
        assert reversal.reason == "REVERSAL"
        assert reversal.reverses_event_id == event.id
        assert reversal.document_no == f"REV-{event.id}"
        audit = session.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "blanko.ledger.reverse", AuditEntry.entity_id == str(event.id)
            )
        )
        assert audit is not None
        assert audit.after == {"reversal_event_id": reversal.id, "note": "printed in error"}
        assert ledger.balance(session, location(session, "REG:32.04"), lot) == 100
        assert ledger.balance(session, location(session, "PRINTED"), lot) == 0

    def test_refuses_a_second_reversal_and_reversing_a_reversal(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=100)
        event = _print(session, "REG:32.04", lot, 40)
        reversal = ledger.reverse(session, event=event, actor=SYSTEM, reason_note="error")
        with pytest.raises(InvalidState):
            ledger.reverse(session, event=event, actor=SYSTEM, reason_note="again")
        with pytest.raises(InvalidState):
            ledger.reverse(session, event=reversal, actor=SYSTEM, reason_note="undo the undo")

    def test_the_database_refuses_a_second_reversal_too(self, session: Session) -> None:
        lot = make_lot(session, quantity=100)
        centre, bandung = location(session, "CENTRE"), location(session, "REG:32.04")
        first, _second = (
            ledger.post(
                session,
                reason=LedgerReason.TRANSFER,
                movements=[Movement(centre, bandung, lot, 40)],
                document_no=f"TRF-{n}",
                business_date=DAY,
                actor=SYSTEM,
            )
            for n in (1, 2)
        )
        ledger.reverse(session, event=first, actor=SYSTEM, reason_note="error")
        # Bandung still holds 40 (the second transfer), so only the unique reversal link refuses.
        with pytest.raises(InvalidState):
            ledger.post(
                session,
                reason=LedgerReason.REVERSAL,
                movements=[Movement(bandung, centre, lot, 40)],
                document_no="REV-again",
                business_date=DAY,
                actor=SYSTEM,
                reverses=first,
            )
        assert ledger.balance(session, bandung, lot) == 40
        assert ledger.balance(session, centre, lot) == 60

    def test_a_reversal_must_mirror_the_event(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=100)
        event = _print(session, "REG:32.04", lot, 40)
        with pytest.raises(ValidationFailed) as caught:
            ledger.post(
                session,
                reason=LedgerReason.REVERSAL,
                movements=[Movement(location(session, "PRINTED"), location(session, "REG:32.04"), lot, 39)],
                document_no="REV",
                business_date=DAY,
                actor=SYSTEM,
                reverses=event,
            )
        assert caught.value.problems[0].rule == "mirror_of_reversed"

    def test_cannot_reverse_when_the_blanks_have_moved_on(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=100)
        transfer = ledger.entries_of(
            session,
            session.scalars(
                select(LedgerEvent).where(LedgerEvent.document_no == f"TEST-TRANSFER-{lot.lot_no}")
            ).one(),
        )
        assert len(transfer) == 2
        _print(session, "REG:32.04", lot, 60)
        event = session.scalars(
            select(LedgerEvent).where(LedgerEvent.document_no == f"TEST-TRANSFER-{lot.lot_no}")
        ).one()
        with pytest.raises(InsufficientStock) as caught:
            ledger.reverse(session, event=event, actor=SYSTEM, reason_note="wrong regency")
        assert caught.value.available == 40


class TestPhysicalCount:
    def test_a_shortfall_goes_to_adjustment_oldest_lot_first(self, session: Session) -> None:
        old = make_lot_at(session, "REG:32.04", quantity=30, business_date=dt.date(2017, 1, 10))
        new = make_lot_at(session, "REG:32.04", quantity=30, business_date=dt.date(2017, 1, 20))
        bandung = location(session, "REG:32.04")
        result = ledger.physical_count(
            session, location=bandung, counted=45, business_date=DAY, actor=OPERATOR, document_no="SO-1"
        )
        assert (result.expected, result.counted, result.difference) == (60, 45, -15)
        assert result.event is not None
        assert result.event.reason == "PHYSICAL_COUNT"
        assert ledger.balance(session, bandung, old) == 15
        assert ledger.balance(session, bandung, new) == 30
        assert ledger.balance(session, location(session, "ADJUSTMENT")) == 15

    def test_a_shortfall_can_be_written_off_as_lost(self, session: Session) -> None:
        make_lot_at(session, "REG:32.04", quantity=30)
        ledger.physical_count(
            session,
            location=location(session, "REG:32.04"),
            counted=28,
            business_date=DAY,
            actor=OPERATOR,
            document_no="SO-2",
            shortage_to="LOST",
        )
        assert ledger.balance(session, location(session, "LOST")) == 2

    def test_a_surplus_per_lot_comes_from_adjustment(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=30)
        bandung = location(session, "REG:32.04")
        result = ledger.physical_count(
            session,
            location=bandung,
            counted={lot: 33},
            business_date=DAY,
            actor=OPERATOR,
            document_no="SO-3",
        )
        assert result.difference == 3
        assert ledger.balance(session, bandung, lot) == 33
        assert ledger.balance(session, location(session, "ADJUSTMENT"), lot) == -3

    def test_an_exact_count_posts_nothing(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=30)
        result = ledger.physical_count(
            session,
            location=location(session, "REG:32.04"),
            counted={lot: 30},
            business_date=DAY,
            actor=OPERATOR,
            document_no="SO-4",
        )
        assert result.event is None

    def test_only_offices_are_counted(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as caught:
            ledger.physical_count(
                session,
                location=location(session, "PRINTED"),
                counted=0,
                business_date=DAY,
                actor=SYSTEM,
                document_no="SO",
            )
        assert caught.value.problems[0].field == "location"


class TestRebuildAndStockCard:
    def test_rebuild_of_a_consistent_projection_is_identical(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=100)
        _print(session, "REG:32.04", lot, 10)
        report = ledger.rebuild_balances(session)
        assert report.identical
        assert report.balances_compared >= 3

    def test_rebuild_finds_and_repairs_a_tampered_projection(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=100)
        bandung = location(session, "REG:32.04")
        session.execute(
            text("UPDATE stock_balances SET quantity = 7 WHERE location_id = :l AND lot_id = :t"),
            {"l": bandung.id, "t": lot.id},
        )
        report = ledger.rebuild_balances(session)
        assert not report.identical
        assert [(d.location_code, d.projected, d.replayed) for d in report.differences] == [
            ("REG:32.04", 7, 100)
        ]
        repaired = ledger.rebuild_balances(session, rewrite=True, actor=SYSTEM)
        assert repaired.rewritten
        assert ledger.rebuild_balances(session).identical
        assert ledger.balance(session, bandung, lot) == 100

    def test_stock_card_shows_movements_with_a_running_balance(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=100)
        _print(session, "REG:32.04", lot, 10, doc="PRN-A")
        _print(session, "REG:32.04", lot, 5, doc="PRN-B")
        card = ledger.stock_card(session, location=location(session, "REG:32.04"))
        assert card.balance == 85
        assert [(line.quantity, line.balance_after) for line in card.lines] == [
            (100, 100),
            (-10, 90),
            (-5, 85),
        ]
        assert card.lines[1].counterparts == ("PRINTED",)
        assert card.lines[1].quantity_out == 10
        second = ledger.stock_card(
            session, location=location(session, "REG:32.04"), page=PageParams(page=2, size=2)
        )
        assert [line.balance_after for line in second.lines] == [85]
        assert not second.has_next


class TestDatabaseRefusals:
    def test_a_negative_balance_at_an_office_is_refused_by_the_database(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=10)
        bandung = location(session, "REG:32.04")
        with pytest.raises(DBAPIError), session.begin_nested():
            session.execute(
                text("UPDATE stock_balances SET quantity = -1 WHERE location_id = :l AND lot_id = :t"),
                {"l": bandung.id, "t": lot.id},
            )
        # ... but the supplier may go negative
        supplier = location(session, "SUPPLIER")
        assert (
            session.scalar(
                select(StockBalance.quantity).where(
                    StockBalance.location_id == supplier.id, StockBalance.lot_id == lot.id
                )
            )
            == -10
        )

    def test_the_negative_flag_cannot_be_forged_on_a_balance(self, session: Session) -> None:
        lot = make_lot_at(session, "REG:32.04", quantity=10)
        bandung = location(session, "REG:32.04")
        with pytest.raises(DBAPIError), session.begin_nested():
            session.execute(
                text(
                    "UPDATE stock_balances SET allows_negative = :t, quantity = -1 "
                    "WHERE location_id = :l AND lot_id = :lot"
                ),
                {"t": True, "l": bandung.id, "lot": lot.id},
            )

    @pytest.mark.parametrize("table", ["ledger_events", "ledger_entries"])
    @pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
    def test_ledger_rows_cannot_be_changed_or_deleted(
        self, session: Session, table: str, statement: str
    ) -> None:
        make_lot_at(session, "REG:32.04", quantity=10)
        with pytest.raises(DBAPIError, match="append-only"), session.begin_nested():
            session.execute(text(statement.format(table=table)))
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) > 0
