"""The queue's API and screen: figures by state and outcome, region scope, the audited retry of
a FAILED job, refusals (no login, wrong role, other region, wrong state, bad input)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.config import Settings
from ektp.dedup import queue
from ektp.dedup.worker import Worker
from ektp.models.dedup import DedupJob
from tests.dedup.conftest import population, record
from tests.factories.auth import WebLogin, auth_headers, web_login
from tests.web.conftest import HTML


def _failed_job(session: Session) -> DedupJob:
    enrollment = record(session, population().gallery[3])
    (claim,) = queue.claim_batch(session, worker_id="w", limit=1, lease_seconds=60, max_attempts=1)
    queue.fail(session, claim=claim, error="OSError: disk gone", max_attempts=1, backoff_base=1)
    session.expire_all()
    return session.scalars(select(DedupJob).where(DedupJob.enrollment_id == enrollment.id)).one()


class TestQueueApi:
    def test_figures_count_states_and_todays_decisions(
        self, client: TestClient, session: Session, worker: Worker
    ) -> None:
        for i in range(3):
            record(session, population().gallery[i])
        worker.run(once=True)
        failed = _failed_job(session)
        record(session, population().gallery[5])  # still waiting
        session.commit()
        body = client.get("/api/v1/dedup/queue", headers=auth_headers(session, Role.CENTRAL_ADMIN)).json()
        assert body["depth"] == {"WAITING": 1, "CLAIMED": 0, "DONE": 3, "FAILED": 1}
        assert body["decisions_today"]["PRINT_READY_RECORD"] == 3
        assert body["decisions_today_total"] == 3
        assert body["time_to_decision_p50_seconds"] is not None
        assert body["time_to_decision_p95_seconds"] >= body["time_to_decision_p50_seconds"]
        assert body["oldest_waiting_age_seconds"] >= 0
        assert [f["job_id"] for f in body["failed"]] == [failed.id]
        assert body["failed"][0]["last_error"] == "OSError: disk gone"

    def test_regional_user_sees_their_region_only(self, client: TestClient, session: Session) -> None:
        record(session, population().gallery[0])  # recorded in 32.04
        session.commit()
        other = client.get(
            "/api/v1/dedup/queue", headers=auth_headers(session, Role.REGIONAL_OPERATOR, "31.71")
        )
        assert other.status_code == 200
        assert other.json()["depth"]["WAITING"] == 0
        assert other.json()["region_code"] == "31.71"
        own = client.get(
            "/api/v1/dedup/queue", headers=auth_headers(session, Role.REGIONAL_OPERATOR, "32.04")
        )
        assert own.json()["depth"]["WAITING"] == 1
        outside = client.get(
            "/api/v1/dedup/queue?region=32.04", headers=auth_headers(session, Role.REGIONAL_OPERATOR, "31.71")
        )
        assert outside.status_code == 403

    def test_refusals(self, client: TestClient, session: Session) -> None:
        assert client.get("/api/v1/dedup/queue").status_code == 401
        examiner = auth_headers(session, Role.EXAMINER, "32.04")
        assert client.get("/api/v1/dedup/queue", headers=examiner).status_code == 403
        admin = auth_headers(session, Role.CENTRAL_ADMIN)
        assert client.get("/api/v1/dedup/queue?region=x; drop", headers=admin).status_code == 422

    def test_retry_puts_a_failed_job_back_and_refuses_twice(
        self, client: TestClient, session: Session
    ) -> None:
        job = _failed_job(session)
        session.commit()
        operator = auth_headers(session, Role.REGIONAL_OPERATOR, "32.04")
        done = client.post(f"/api/v1/dedup/jobs/{job.id}/retry", headers=operator)
        assert done.status_code == 200
        assert done.json() == {"job_id": job.id, "state": "WAITING", "attempts": 0}
        assert client.post(f"/api/v1/dedup/jobs/{job.id}/retry", headers=operator).status_code == 409
        assert client.post("/api/v1/dedup/jobs/999999/retry", headers=operator).status_code == 404

    def test_retry_of_another_regions_job_is_not_found(self, client: TestClient, session: Session) -> None:
        job = _failed_job(session)
        session.commit()
        other = auth_headers(session, Role.REGIONAL_OPERATOR, "31.71")
        assert client.post(f"/api/v1/dedup/jobs/{job.id}/retry", headers=other).status_code == 404
        viewer = auth_headers(session, Role.VIEWER, "32.04")
        assert client.post(f"/api/v1/dedup/jobs/{job.id}/retry", headers=viewer).status_code == 403


@pytest.fixture
def login(client: TestClient, session: Session, settings: Settings):  # type: ignore[no-untyped-def]
    def as_role(role: Role, region: str | None = None) -> WebLogin:
        done = web_login(session, settings, role, region)
        client.cookies.set("ektp_session", done.session_token)
        client.cookies.set("ektp_lang", "en")  # the assertions read the English screens
        return done

    return as_role


class TestQueuePage:
    def test_page_shows_figures_and_retry_works(self, client: TestClient, session: Session, login) -> None:  # type: ignore[no-untyped-def]
        job = _failed_job(session)
        session.commit()
        me = login(Role.REGIONAL_OPERATOR, "32.04")
        page = client.get("/dedup", headers=HTML)
        assert page.status_code == 200
        assert "Dedup queue" in page.text
        assert 'data-testid="depth-FAILED">1<' in page.text
        assert f'data-job-id="{job.id}"' in page.text
        done = client.post(
            f"/dedup/jobs/{job.id}/retry",
            data={"csrf_token": me.csrf_token},
            headers=HTML,
            follow_redirects=False,
        )
        assert done.status_code == 303
        after = client.get(done.headers["location"], headers=HTML)
        assert "The job is back in the queue." in after.text
        assert 'data-testid="no-failed"' in after.text
        again = client.post(f"/dedup/jobs/{job.id}/retry", data={"csrf_token": me.csrf_token}, headers=HTML)
        assert again.status_code == 409
        assert 'data-testid="dedup-errors"' in again.text

    def test_retry_without_csrf_or_as_viewer_is_refused(
        self, client: TestClient, session: Session, login
    ) -> None:  # type: ignore[no-untyped-def]
        job = _failed_job(session)
        session.commit()
        login(Role.REGIONAL_OPERATOR, "32.04")
        assert client.post(f"/dedup/jobs/{job.id}/retry", data={}, headers=HTML).status_code == 403
        viewer = login(Role.VIEWER, "32.04")
        page = client.get("/dedup", headers=HTML)
        assert page.status_code == 200
        assert "retry-" not in page.text
        refused = client.post(
            f"/dedup/jobs/{job.id}/retry", data={"csrf_token": viewer.csrf_token}, headers=HTML
        )
        assert refused.status_code == 403

    def test_page_needs_login(self, client: TestClient) -> None:
        response = client.get("/dedup", headers=HTML, follow_redirects=False)
        assert response.status_code in (302, 303)
