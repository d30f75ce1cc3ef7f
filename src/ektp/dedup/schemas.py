"""API shapes of the dedup queue."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel


class FailedJob(BaseModel):
    job_id: int
    enrollment_id: int
    attempts: int
    last_error: str | None
    failed_at: dt.datetime | None


class QueueState(BaseModel):
    """The queue at ``as_of``: jobs by state, the oldest job not yet decided, FAILED jobs (up to
    100), today's decisions (WIB day) by outcome and their time-to-decision percentiles."""

    region_code: str | None
    as_of: dt.datetime
    depth: dict[str, int]
    oldest_waiting_at: dt.datetime | None
    oldest_waiting_age_seconds: float | None
    failed: list[FailedJob]
    decisions_today: dict[str, int]
    decisions_today_total: int
    time_to_decision_p50_seconds: float | None
    time_to_decision_p95_seconds: float | None


class RetryOut(BaseModel):
    job_id: int
    state: str
    attempts: int
