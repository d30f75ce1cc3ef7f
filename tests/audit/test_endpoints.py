"""The audit API: search (AUDIT_READ) and chain verification (central admin, auditor)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from ektp.audit.service import record
from ektp.auth.dependencies import current_principal
from ektp.auth.permissions import Principal, Role
from tests.factories.auth import auth_headers

API = "/api/v1"

JAKARTA = Principal(user_id=None, username="op.jakarta", role=Role.REGIONAL_OPERATOR, region_code="31.71")
BANDUNG = Principal(user_id=None, username="op.bandung", role=Role.REGIONAL_OPERATOR, region_code="32.04")


def _record(session: Session, actor: Principal, entity_id: str, action: str = "resident.update") -> int:
    entry = record(
        session,
        actor=actor,
        action=action,
        entity_type="resident",
        entity_id=entity_id,
        before={"name": "A"},
        after={"name": "B"},
    )
    session.commit()
    return entry.id


@pytest.fixture
def as_principal(app: FastAPI) -> Iterator[Any]:
    def use(principal: Principal) -> None:
        app.dependency_overrides[current_principal] = lambda: principal

    yield use
    app.dependency_overrides.pop(current_principal, None)


class TestRefusals:
    @pytest.mark.parametrize("path", ["/audit", "/audit/verify"])
    def test_without_credentials_is_401(self, client: TestClient, path: str) -> None:
        assert client.get(API + path).status_code == 401

    @pytest.mark.parametrize("path", ["/audit", "/audit/verify"])
    @pytest.mark.parametrize(
        "role", [Role.REGIONAL_OPERATOR, Role.EXAMINER, Role.VIEWER, Role.CENTRAL_LOGISTICS]
    )
    def test_roles_without_audit_read_are_403(
        self, client: TestClient, session: Session, path: str, role: Role
    ) -> None:
        assert client.get(API + path, headers=auth_headers(session, role)).status_code == 403

    def test_a_regional_principal_may_not_verify(self, client: TestClient, as_principal: Any) -> None:
        as_principal(Principal(user_id=None, username="x", role=Role.CENTRAL_ADMIN, region_code="32"))
        response = client.get(f"{API}/audit/verify")
        assert response.status_code == 403


class TestSearch:
    def test_filters_by_entity_and_actor(self, client: TestClient, session: Session) -> None:
        first = _record(session, BANDUNG, "3204010101900001")
        second = _record(session, JAKARTA, "3171010101900002")
        headers = auth_headers(session, Role.AUDITOR)
        by_entity = client.get(
            f"{API}/audit",
            params={"entity_type": "resident", "entity_id": "3204010101900001"},
            headers=headers,
        ).json()
        assert [e["id"] for e in by_entity["items"]] == [first]
        assert by_entity["items"][0]["before"] == {"name": "A"}
        assert by_entity["items"][0]["after"] == {"name": "B"}
        by_actor = client.get(f"{API}/audit", params={"actor": "op.jakarta"}, headers=headers).json()
        assert [e["id"] for e in by_actor["items"]] == [second]

    def test_newest_first_and_paged(self, client: TestClient, session: Session) -> None:
        ids = [_record(session, BANDUNG, f"e{i}", action="thing.paged") for i in range(3)]
        headers = auth_headers(session, Role.CENTRAL_ADMIN)
        page = client.get(
            f"{API}/audit", params={"entity_type": "resident", "size": 2}, headers=headers
        ).json()
        assert [e["id"] for e in page["items"]] == [ids[2], ids[1]]
        assert page["has_next"] is True

    def test_date_range(self, client: TestClient, session: Session) -> None:
        entry_id = _record(session, BANDUNG, "dated")
        headers = auth_headers(session, Role.AUDITOR)
        inside = client.get(
            f"{API}/audit",
            params={
                "entity_id": "dated",
                "since": "2000-01-01T00:00:00Z",
                "until": "2999-01-01T00:00:00+07:00",
            },
            headers=headers,
        ).json()
        assert [e["id"] for e in inside["items"]] == [entry_id]
        after = client.get(
            f"{API}/audit", params={"entity_id": "dated", "since": "2999-01-01T00:00:00Z"}, headers=headers
        ).json()
        assert after["items"] == []

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({"since": "2024-01-01T00:00:00"}, "since"),
            ({"since": "yesterday"}, "since"),
            ({"since": "2024-02-01T00:00:00Z", "until": "2024-01-01T00:00:00Z"}, "until"),
            ({"size": 0}, "size"),
            ({"entity_type": ""}, "entity_type"),
        ],
    )
    def test_malformed_filters_are_422(
        self, client: TestClient, session: Session, params: dict[str, Any], field: str
    ) -> None:
        response = client.get(f"{API}/audit", params=params, headers=auth_headers(session, Role.AUDITOR))
        assert response.status_code == 422
        assert field in {p["field"] for p in response.json()["problems"]}

    def test_a_regional_principal_sees_only_its_regions_actors(
        self, client: TestClient, session: Session, as_principal: Any
    ) -> None:
        mine = _record(session, BANDUNG, "scoped")
        theirs = _record(session, JAKARTA, "scoped")
        as_principal(Principal(user_id=None, username="x", role=Role.AUDITOR, region_code="32"))
        ids = [e["id"] for e in client.get(f"{API}/audit", params={"entity_id": "scoped"}).json()["items"]]
        assert mine in ids
        assert theirs not in ids


class TestVerify:
    @pytest.mark.parametrize("role", [Role.AUDITOR, Role.CENTRAL_ADMIN])
    def test_reports_an_intact_chain(self, client: TestClient, session: Session, role: Role) -> None:
        _record(session, BANDUNG, "v")
        body = client.get(f"{API}/audit/verify", headers=auth_headers(session, role)).json()
        assert body["intact"] is True
        assert body["first_bad_id"] is None
        assert body["rows_checked"] >= 1

    def test_reports_the_first_altered_row(self, client: TestClient, session: Session, backend: str) -> None:
        headers = auth_headers(session, Role.AUDITOR)
        target = _record(session, BANDUNG, "tampered")
        _record(session, BANDUNG, "after")
        if backend == "postgresql":
            session.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            session.execute(text("DROP TRIGGER audit_log_no_update"))
        session.execute(text("UPDATE audit_log SET after_json = '{}' WHERE id = :id"), {"id": target})
        session.commit()
        body = client.get(f"{API}/audit/verify", headers=headers).json()
        assert body["intact"] is False
        assert body["first_bad_id"] == target
        assert body["problem"] == "altered"
