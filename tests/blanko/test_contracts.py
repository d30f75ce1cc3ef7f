"""Contracts, delivery schedules and lots: integer rupiah, schedules that add up, serial ranges
that never overlap, receipts posted to the ledger."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ektp.auth.permissions import SYSTEM
from ektp.blanko import contracts, ledger, repository
from ektp.blanko.contracts import DeliveryLine
from ektp.kit.errors import Conflict, ValidationFailed
from ektp.models.blanko import ProcurementMethod
from tests.factories.blanko import location, make_contract, make_lot

SIGNED = dt.date(2017, 1, 4)


def _supplier(session: Session) -> object:
    location(session, "CENTRE")
    return contracts.get_or_create_supplier(session, name="PT Penyedia Blanko A (demo)", actor=SYSTEM)


class TestCreateContract:
    def test_total_is_quantity_times_unit_price_in_rupiah(self, session: Session) -> None:
        contract = contracts.create_contract(
            session,
            number="SPK/7M/2017",
            signed_on=SIGNED,
            supplier=_supplier(session),  # type: ignore[arg-type]
            quantity=7_000_000,
            unit_price_rupiah=9_547,
            deliveries=[
                DeliveryLine(dt.date(2017, 1, 16), 3_500_000),
                DeliveryLine(dt.date(2017, 1, 30), 3_500_000),
            ],
            actor=SYSTEM,
            method=ProcurementMethod.TENDER,
        )
        assert contract.total_rupiah == 66_829_000_000
        assert [d.quantity for d in repository.deliveries_of(session, contract)] == [3_500_000, 3_500_000]

    @pytest.mark.parametrize(
        ("overrides", "field", "rule"),
        [
            ({"quantity": 0}, "quantity", "positive"),
            ({"unit_price_rupiah": 9547.5}, "unit_price_rupiah", "integer"),
            ({"deliveries": []}, "deliveries", "required"),
            ({"deliveries": [DeliveryLine(dt.date(2017, 1, 16), 999)]}, "deliveries", "sum_equals_quantity"),
            (
                {"deliveries": [DeliveryLine(dt.date(2016, 12, 1), 1000)]},
                "deliveries[0].due_on",
                "not_before_signing",
            ),
            ({"signed_on": dt.date(2999, 1, 1)}, "signed_on", "not_in_future"),
        ],
    )
    def test_bad_contracts_name_the_field(
        self, session: Session, overrides: dict[str, object], field: str, rule: str
    ) -> None:
        arguments: dict[str, object] = {
            "number": "SPK/X",
            "signed_on": SIGNED,
            "supplier": _supplier(session),
            "quantity": 1000,
            "unit_price_rupiah": 9547,
            "deliveries": [DeliveryLine(dt.date(2017, 1, 16), 1000)],
            "actor": SYSTEM,
        }
        arguments.update(overrides)
        with pytest.raises(ValidationFailed) as caught:
            contracts.create_contract(session, **arguments)  # type: ignore[arg-type]
        assert (field, rule) in {(p.field, p.rule) for p in caught.value.problems}

    def test_a_contract_number_is_used_once(self, session: Session) -> None:
        contract = make_contract(session)
        with pytest.raises(Conflict):
            make_contract(session, number=contract.number)

    def test_the_database_checks_the_total_too(self, session: Session) -> None:
        contract = make_contract(session, quantity=1000)
        with pytest.raises(DBAPIError), session.begin_nested():
            session.execute(text("UPDATE contracts SET total_rupiah = 1 WHERE id = :id"), {"id": contract.id})


class TestReceiveLot:
    def test_a_lot_lands_at_the_centre_with_its_serials(self, session: Session) -> None:
        contract = make_contract(session, quantity=5000)
        lot = contracts.receive_lot(
            session,
            contract=contract,
            lot_no="L01",
            received_on=dt.date(2017, 1, 16),
            quantity=2000,
            serial_from=7_000_000_001,
            actor=SYSTEM,
        )
        assert (lot.serial_from, lot.serial_to) == (7_000_000_001, 7_000_002_000)
        assert contracts.format_serial(lot.serial_from) == "007000000001"
        assert ledger.balance(session, location(session, "CENTRE"), lot) == 2000
        assert repository.received_quantity(session, contract) == 2000

    def test_serial_ranges_never_overlap_across_lots(self, session: Session) -> None:
        first = make_lot(session, quantity=100)
        contract = make_contract(session)
        for start in (first.serial_from, first.serial_from + 10, first.serial_to):
            with pytest.raises(Conflict) as caught:
                contracts.receive_lot(
                    session,
                    contract=contract,
                    lot_no=f"X{start}",
                    received_on=dt.date(2017, 1, 20),
                    quantity=100,
                    serial_from=start,
                    actor=SYSTEM,
                )
            assert caught.value.problems[0].field == "serial_from"
        touching = contracts.receive_lot(
            session,
            contract=contract,
            lot_no="OK",
            received_on=dt.date(2017, 1, 20),
            quantity=100,
            serial_from=first.serial_to + 1_000_000,
            actor=SYSTEM,
        )
        assert touching.quantity == 100

    def test_receipts_never_exceed_the_contract(self, session: Session) -> None:
        contract = make_contract(session, quantity=1000)
        make_lot(session, quantity=800, contract=contract)
        with pytest.raises(ValidationFailed) as caught:
            make_lot(session, quantity=201, contract=contract)
        assert caught.value.problems[0].rule == "within_contract"

    def test_a_lot_number_is_unique_within_its_contract(self, session: Session) -> None:
        contract = make_contract(session)
        contracts.receive_lot(
            session,
            contract=contract,
            lot_no="L1",
            received_on=dt.date(2017, 1, 20),
            quantity=10,
            serial_from=990_000_000_000,
            actor=SYSTEM,
        )
        with pytest.raises(Conflict) as caught:
            contracts.receive_lot(
                session,
                contract=contract,
                lot_no="L1",
                received_on=dt.date(2017, 1, 20),
                quantity=10,
                serial_from=990_000_100_000,
                actor=SYSTEM,
            )
        assert caught.value.problems[0].field == "lot_no"

    def test_a_lot_cannot_arrive_before_its_contract(self, session: Session) -> None:
        contract = make_contract(session, signed_on=dt.date(2017, 3, 1))
        with pytest.raises(ValidationFailed) as caught:
            make_lot(session, quantity=10, contract=contract, received_on=dt.date(2017, 2, 1))
        assert caught.value.problems[0].field == "received_on"
