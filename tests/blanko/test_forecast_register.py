"""The blank demand forecast reads the register: residents turning 17, the obliged population,
married minors and re-issue needs."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from ektp.blanko.forecast import BACKLOGS_NOW, region_forecast, register_demand_input
from ektp.cli.app import build_app
from ektp.kit.errors import ValidationFailed
from tests.factories.population import OTHER_REGENCY_VILLAGE, make_resident

START = dt.date(2026, 12, 1)


def _populate(session: Session) -> None:
    make_resident(session, birth_date=dt.date(2009, 12, 10), name="ANAK SATU")  # turns 17 in Dec 2026
    make_resident(session, birth_date=dt.date(2010, 2, 3), sex="P", name="ANAK DUA")  # turns 17 in Feb 2027
    make_resident(session, birth_date=dt.date(2010, 8, 3), name="ANAK TIGA")  # after the horizon
    make_resident(session, birth_date=dt.date(1980, 1, 1), name="DEWASA SATU", marital_status="KAWIN")
    make_resident(
        session, birth_date=dt.date(2010, 1, 5), sex="P", name="MUDA MENIKAH", marital_status="KAWIN"
    )
    make_resident(
        session, birth_date=dt.date(1990, 1, 1), name="LAIN DAERAH", village_code=OTHER_REGENCY_VILLAGE
    )
    session.flush()


class TestRegisterDemandInput:
    def test_counts_the_region_only(self, session: Session) -> None:
        _populate(session)
        region = register_demand_input(session, region_code="32.04", start=START, horizon_months=3)
        assert region.births_by_month == {
            dt.date(2009, 12, 1): 1,
            dt.date(2010, 1, 1): 1,
            dt.date(2010, 2, 1): 1,
        }
        assert region.wajib_ktp_population == 2  # the adult and the married 16-year-old
        assert region.married_under_17_per_year == 1.0
        assert region.reissue_history == []

    def test_refuses_a_district(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as error:
            register_demand_input(session, region_code="32.04.05", start=START, horizon_months=3)
        assert error.value.problems[0].rule == "province_or_regency"


class TestRegionForecast:
    def test_states_where_the_backlogs_come_from(self, session: Session) -> None:
        _populate(session)
        forecast = region_forecast(session, region_code="32.04", start=START, horizon_months=3)
        assert forecast.total_cards > 0
        assert BACKLOGS_NOW in forecast.assumptions


def test_cli_prints_the_forecast_and_its_assumptions(db_engine: object, database_url: str) -> None:
    result = CliRunner().invoke(
        build_app(),
        ["blanko", "forecast", "--region", "32.04", "--months", "2", "--database-url", database_url],
    )
    assert result.exit_code == 0, result.output
    assert "print-ready recordings without a suket" in " ".join(result.output.split())
