"""Blank demand forecast from the register: feeds ``ektp.planning.forecast`` (the pure core) with
what the database knows about one region.

* births by month: living, never-married residents of the region who turn 17 during the
  forecast horizon (a minor who married is obliged already);
* obliged population: living residents aged 17 or more, or ever married, who are citizens or hold
  a permit valid on the start date (``is_wajib_ktp`` in SQL);
* married under 17 a year: the residents now married (ever) and under 17, taken as one year's
  inflow — an approximation stated in the forecast's assumptions;
* re-issue history: card re-issue needs raised by life events, per month over the last 12 months,
  against the obliged population now (the register keeps no past populations);
* PRR backlog and sukets outstanding: the region's print-ready recordings without a suket and its
  ACTIVE sukets now (:mod:`ektp.blanko.backlogs`), cleared over the policy's months."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from ektp.blanko.backlogs import region_backlogs
from ektp.kit.errors import invalid
from ektp.models.population import ReissueNeed, Resident
from ektp.planning.forecast import (
    Forecast,
    ForecastPolicy,
    MonthlyReissues,
    RegionDemandInput,
    add_months,
    forecast_demand,
    month_start,
)
from ektp.regions.codes import normalise_region_code, region_level

HISTORY_MONTHS = 12

BACKLOGS_NOW = (
    "PRR backlog and sukets outstanding: the region's print-ready recordings without a suket and "
    "its active sukets at the time of the forecast, cleared evenly over the policy's months."
)


def _years_before(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _in_region(region_code: str) -> ColumnElement[bool]:
    level = region_level(region_code)
    if level == 1:
        return Resident.province_code == region_code
    if level == 2:
        return Resident.regency_code == region_code
    raise invalid("region_code", "province_or_regency", "forecasts are made for a province or a regency/city")


def register_demand_input(
    session: Session, *, region_code: str, start: dt.date, horizon_months: int, obligation_age: int = 17
) -> RegionDemandInput:
    code = normalise_region_code(region_code)
    where = and_(_in_region(code), Resident.life_status == "ALIVE")
    first = month_start(start)
    born_from = _years_before(first, obligation_age)
    born_to = _years_before(add_months(first, horizon_months), obligation_age)
    births = Counter(
        month_start(born)
        for born in session.scalars(
            select(Resident.birth_date).where(
                where, Resident.birth_date >= born_from, Resident.birth_date < born_to
            )
        )
    )
    adult_on_start = _years_before(start, obligation_age)
    entitled = or_(Resident.citizenship == "WNI", Resident.permit_expiry >= start)
    ever_married = Resident.marital_status != "BELUM_KAWIN"
    wajib = session.scalar(
        select(func.count())
        .select_from(Resident)
        .where(where, entitled, or_(Resident.birth_date <= adult_on_start, ever_married))
    )
    married_minors = session.scalar(
        select(func.count())
        .select_from(Resident)
        .where(where, entitled, ever_married, Resident.birth_date > adult_on_start)
    )
    history_from = add_months(first, -HISTORY_MONTHS)
    raised = session.scalars(
        select(ReissueNeed.raised_at)
        .join(Resident, Resident.id == ReissueNeed.resident_id)
        .where(
            _in_region(code),
            ReissueNeed.raised_at >= dt.datetime.combine(history_from, dt.time(), dt.UTC),
            ReissueNeed.raised_at < dt.datetime.combine(first, dt.time(), dt.UTC),
        )
    )
    per_month = Counter(month_start(moment.date()) for moment in raised)
    population = max(int(wajib or 0), 1)
    history = (
        [
            MonthlyReissues(
                month=add_months(history_from, i),
                reissues=per_month.get(add_months(history_from, i), 0),
                wajib_ktp_population=population,
            )
            for i in range(HISTORY_MONTHS)
        ]
        if per_month
        else []
    )
    backlogs = region_backlogs(session, region_code=code)
    return RegionDemandInput(
        region_code=code,
        prr_backlog=backlogs.prr_backlog,
        sukets_outstanding=backlogs.sukets_outstanding,
        births_by_month=dict(births),
        wajib_ktp_population=int(wajib or 0),
        married_under_17_per_year=float(married_minors or 0),
        reissue_history=history,
    )


def region_forecast(
    session: Session,
    *,
    region_code: str,
    start: dt.date,
    horizon_months: int,
    policy: ForecastPolicy | None = None,
) -> Forecast:
    """The forecast of one region, with the register-side assumptions added to the core's."""
    policy = policy or ForecastPolicy()
    region = register_demand_input(
        session,
        region_code=region_code,
        start=start,
        horizon_months=horizon_months,
        obligation_age=policy.obligation_age,
    )
    forecast = forecast_demand(region, start=start, horizon_months=horizon_months, policy=policy)
    forecast.assumptions.extend(
        [
            "Married under 17: the residents now married and under 17 are taken as one year's inflow.",
            "Re-issue history: re-issue needs raised by life events in the last 12 months, against "
            "today's obliged population."
            if region.reissue_history
            else "Re-issue history: none recorded in the last 12 months, so the national rate is used.",
            BACKLOGS_NOW,
        ]
    )
    return forecast
