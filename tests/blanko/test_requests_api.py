"""HTTP API of requests, loans, priority events, allocation runs and indicators: the happy path
and the refusals (401, 403 wrong role or other region, 409 wrong state, 422 naming the field)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.kit.time import today_wib
from tests.blanko.test_requests import balance_of, stock_centre
from tests.factories.auth import auth_headers

API = "/api/v1/blanko"


@pytest.fixture
def h(session: Session) -> dict[str, dict[str, str]]:
    return {
        "operator": auth_headers(session, Role.REGIONAL_OPERATOR, "32.04"),
        "other": auth_headers(session, Role.REGIONAL_OPERATOR, "32.73"),
        "province": auth_headers(session, Role.REGIONAL_OPERATOR, "32"),
        "logistics": auth_headers(session, Role.CENTRAL_LOGISTICS),
        "auditor": auth_headers(session, Role.AUDITOR),
        "viewer": auth_headers(session, Role.VIEWER, "32.04"),
        "examiner": auth_headers(session, Role.EXAMINER, "32.04"),
    }


def _fields(response: Any) -> set[str]:
    body = response.json()
    return {p["field"] for p in body.get("problems", [])} | {
        ".".join(str(x) for x in d.get("loc", ())) for d in body.get("detail", []) if isinstance(d, dict)
    }


def _create(client: TestClient, headers: dict[str, str], quantity: int = 1000, region: str = "32.04") -> Any:
    return client.post(
        f"{API}/requests",
        json={"region_code": region, "requested_quantity": quantity, "justification": "habis minggu depan"},
        headers=headers,
    )


class TestRequestsApi:
    def test_round_trip(self, client: TestClient, session: Session, h: dict[str, dict[str, str]]) -> None:
        stock_centre(session, 5000)
        before = balance_of(session, "REG:32.04")
        created = _create(client, h["operator"])
        assert created.status_code == 201, created.text
        rid = created.json()["id"]
        assert created.json()["status"] == "INITIATED"
        assert client.post(f"{API}/requests/{rid}/submit", json={}, headers=h["operator"]).status_code == 200
        approved = client.post(
            f"{API}/requests/{rid}/approve",
            json={"approved_quantity": 400, "reason": "stok pusat terbatas"},
            headers=h["logistics"],
        )
        assert approved.status_code == 200
        assert (approved.json()["approved_quantity"], approved.json()["unapproved_remainder"]) == (400, 600)
        assert (
            client.post(f"{API}/requests/{rid}/release", json={}, headers=h["logistics"]).status_code == 200
        )
        shipped = client.post(
            f"{API}/requests/{rid}/dispatch",
            json={"mode": "SHIPPED", "carrier": "Pos"},
            headers=h["logistics"],
        )
        assert shipped.json()["status"] == "SHIPPED"
        received = client.post(
            f"{API}/requests/{rid}/receive",
            json={
                "accepted_quantity": 390,
                "damaged_quantity": 10,
                "rejection_reason": "basah",
                "received_by": "Dedi",
            },
            headers=h["operator"],
        )
        assert received.status_code == 200, received.text
        body = received.json()
        assert body["status"] == "RECEIVED"
        assert body["proof_of_delivery"]["rejected_quantity"] == 10
        assert [t["to_status"] for t in body["transitions"]] == [
            "INITIATED",
            "SUBMITTED",
            "APPROVED",
            "RELEASED",
            "SHIPPED",
            "RECEIVED",
        ]
        assert balance_of(session, "REG:32.04") == before + 390
        listed = client.get(f"{API}/requests", params={"status": "RECEIVED"}, headers=h["operator"]).json()
        assert [item["id"] for item in listed["items"]] == [rid]

    def test_without_login_401(self, client: TestClient) -> None:
        assert client.get(f"{API}/requests").status_code == 401
        assert client.post(f"{API}/requests", json={}).status_code == 401

    @pytest.mark.parametrize("who", ["viewer", "examiner", "auditor"])
    def test_roles_without_request_permission_403(
        self, client: TestClient, h: dict[str, dict[str, str]], who: str
    ) -> None:
        response = _create(client, h[who])
        assert response.status_code == 403
        assert "blanko:request" in response.json()["message"]

    def test_other_region_403(self, client: TestClient, h: dict[str, dict[str, str]]) -> None:
        assert _create(client, h["other"]).status_code == 403
        rid = _create(client, h["operator"]).json()["id"]
        assert client.get(f"{API}/requests/{rid}", headers=h["other"]).status_code == 403
        assert client.post(f"{API}/requests/{rid}/submit", json={}, headers=h["other"]).status_code == 403
        assert client.get(f"{API}/requests/{rid}", headers=h["province"]).status_code == 200

    def test_operator_cannot_approve_403(self, client: TestClient, h: dict[str, dict[str, str]]) -> None:
        rid = _create(client, h["operator"]).json()["id"]
        client.post(f"{API}/requests/{rid}/submit", json={}, headers=h["operator"])
        response = client.post(
            f"{API}/requests/{rid}/approve", json={"approved_quantity": 5}, headers=h["operator"]
        )
        assert response.status_code == 403

    def test_wrong_state_409(self, client: TestClient, h: dict[str, dict[str, str]]) -> None:
        rid = _create(client, h["operator"]).json()["id"]
        response = client.post(f"{API}/requests/{rid}/release", json={}, headers=h["logistics"])
        assert response.status_code == 409
        assert "is INITIATED: it cannot be released" in response.json()["message"]
        client.post(f"{API}/requests/{rid}/submit", json={}, headers=h["operator"])
        again = client.post(f"{API}/requests/{rid}/submit", json={}, headers=h["operator"])
        assert again.status_code == 409

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"region_code": "32.04", "justification": "x"}, "requested_quantity"),
            (
                {"region_code": "32.04", "requested_quantity": "many", "justification": "x"},
                "requested_quantity",
            ),
            (
                {"region_code": "32.04", "requested_quantity": 0, "justification": "x"},
                "requested_quantity",
            ),
            ({"region_code": "Bandung", "requested_quantity": 5, "justification": "x"}, "region_code"),
            ({"region_code": "32.04", "requested_quantity": 5, "justification": ""}, "justification"),
            (
                {"region_code": "32.04", "requested_quantity": 5, "justification": "x", "extra": 1},
                "extra",
            ),
        ],
    )
    def test_malformed_create_422_names_the_field(
        self, client: TestClient, h: dict[str, dict[str, str]], payload: dict[str, Any], field: str
    ) -> None:
        response = client.post(f"{API}/requests", json=payload, headers=h["operator"])
        assert response.status_code == 422
        assert field in _fields(response)

    def test_partial_approval_without_reason_422(
        self, client: TestClient, h: dict[str, dict[str, str]]
    ) -> None:
        rid = _create(client, h["operator"]).json()["id"]
        client.post(f"{API}/requests/{rid}/submit", json={}, headers=h["operator"])
        response = client.post(
            f"{API}/requests/{rid}/approve", json={"approved_quantity": 5}, headers=h["logistics"]
        )
        assert response.status_code == 422
        assert "reason" in _fields(response)

    def test_pod_not_adding_up_422(
        self, client: TestClient, session: Session, h: dict[str, dict[str, str]]
    ) -> None:
        stock_centre(session, 1000)
        rid = _create(client, h["operator"], quantity=100).json()["id"]
        client.post(f"{API}/requests/{rid}/submit", json={}, headers=h["operator"])
        client.post(f"{API}/requests/{rid}/approve", json={"approved_quantity": 100}, headers=h["logistics"])
        client.post(f"{API}/requests/{rid}/release", json={}, headers=h["logistics"])
        client.post(
            f"{API}/requests/{rid}/dispatch",
            json={"mode": "COLLECTED", "carrier": "A"},
            headers=h["logistics"],
        )
        response = client.post(
            f"{API}/requests/{rid}/receive",
            json={"accepted_quantity": 90, "received_by": "x"},
            headers=h["operator"],
        )
        assert response.status_code == 422
        assert "accepted_quantity" in _fields(response)
        bad_mode = client.post(
            f"{API}/requests/{rid}/dispatch", json={"mode": "FLOWN", "carrier": "A"}, headers=h["logistics"]
        )
        assert bad_mode.status_code == 422
        assert "mode" in _fields(bad_mode)

    def test_unknown_request_404(self, client: TestClient, h: dict[str, dict[str, str]]) -> None:
        assert client.get(f"{API}/requests/999999", headers=h["logistics"]).status_code == 404

    def test_update_only_while_initiated(self, client: TestClient, h: dict[str, dict[str, str]]) -> None:
        rid = _create(client, h["operator"]).json()["id"]
        changed = client.patch(
            f"{API}/requests/{rid}", json={"requested_quantity": 700}, headers=h["operator"]
        )
        assert changed.json()["requested_quantity"] == 700
        client.post(f"{API}/requests/{rid}/submit", json={}, headers=h["operator"])
        refused = client.patch(
            f"{API}/requests/{rid}", json={"requested_quantity": 800}, headers=h["operator"]
        )
        assert refused.status_code == 409


class TestLoansApi:
    def test_province_lends(self, client: TestClient, session: Session, h: dict[str, dict[str, str]]) -> None:
        stock_centre(session, 1000)
        rid = _create(client, h["logistics"], quantity=300).json()["id"]
        for step, body in (
            ("submit", {}),
            ("approve", {"approved_quantity": 300}),
            ("release", {}),
            ("dispatch", {"mode": "SHIPPED", "carrier": "JNE"}),
            ("receive", {"accepted_quantity": 300, "received_by": "x"}),
        ):
            assert (
                client.post(f"{API}/requests/{rid}/{step}", json=body, headers=h["logistics"]).status_code
                == 200
            )
        payload = {"from_region": "32.04", "to_region": "32.73", "quantity": 120}
        assert client.post(f"{API}/loans", json=payload, headers=h["operator"]).status_code == 403
        response = client.post(f"{API}/loans", json=payload, headers=h["province"])
        assert response.status_code == 201, response.text
        assert response.json()["number"].startswith("LN-")
        other_province = {"from_region": "32.04", "to_region": "31.71", "quantity": 1}
        refused = client.post(f"{API}/loans", json=other_province, headers=h["province"])
        assert refused.status_code == 422
        assert "to_region" in _fields(refused)
        assert len(client.get(f"{API}/loans", headers=h["other"]).json()) == 1


class TestAllocationRunsApi:
    def _scene(self, client: TestClient, session: Session, h: dict[str, dict[str, str]]) -> list[int]:
        stock_centre(session, 1500)
        ids = []
        for who, region, quantity in (("operator", "32.04", 1000), ("other", "32.73", 800)):
            rid = _create(client, h[who], quantity=quantity, region=region).json()["id"]
            client.post(f"{API}/requests/{rid}/submit", json={}, headers=h[who])
            ids.append(rid)
        return ids

    @pytest.mark.parametrize("mode", ["water_filling", "milp"])
    def test_create_sort_verify_approve(
        self, client: TestClient, session: Session, h: dict[str, dict[str, str]], mode: str
    ) -> None:
        ids = self._scene(client, session, h)
        created = client.post(
            f"{API}/allocation-runs", json={"policy": {"mode": mode}}, headers=h["logistics"]
        )
        assert created.status_code == 201, created.text
        run = created.json()
        assert run["mode"] == mode
        assert run["allocated"] == 1500
        sorted_run = client.get(
            f"{API}/allocation-runs/{run['id']}",
            params={"sort": "allocated", "direction": "desc"},
            headers=h["logistics"],
        ).json()
        allocated = [line["allocated"] for line in sorted_run["lines"]]
        assert allocated == sorted(allocated, reverse=True)
        verified = client.get(f"{API}/allocation-runs/{run['id']}/verify", headers=h["logistics"]).json()
        assert verified["reproducible"] is True
        approved = client.post(f"{API}/allocation-runs/{run['id']}/approve", json={}, headers=h["logistics"])
        assert approved.status_code == 200
        assert {r["id"] for r in approved.json()["approved_requests"]} == set(ids)
        assert all(
            r["decision_reason"] == f"allocation run #{run['id']}"
            for r in approved.json()["approved_requests"]
        )
        again = client.post(f"{API}/allocation-runs/{run['id']}/approve", json={}, headers=h["logistics"])
        assert again.status_code == 409

    def test_refusals(self, client: TestClient, session: Session, h: dict[str, dict[str, str]]) -> None:
        self._scene(client, session, h)
        assert client.post(f"{API}/allocation-runs", json={}, headers=h["operator"]).status_code == 403
        assert client.post(f"{API}/allocation-runs", json={}, headers=h["auditor"]).status_code == 403
        bad = client.post(
            f"{API}/allocation-runs", json={"policy": {"mode": "lottery"}}, headers=h["logistics"]
        )
        assert bad.status_code == 422
        assert "policy.mode" in _fields(bad)
        shipments = client.post(
            f"{API}/allocation-runs", json={"policy": {"max_shipments": 1}}, headers=h["logistics"]
        )
        assert shipments.status_code == 422
        assert "policy.max_shipments" in _fields(shipments)
        run = client.post(f"{API}/allocation-runs", json={}, headers=h["logistics"]).json()
        assert client.get(f"{API}/allocation-runs/{run['id']}", headers=h["operator"]).status_code == 403
        assert client.get(f"{API}/allocation-runs/{run['id']}", headers=h["auditor"]).status_code == 200
        bad_sort = client.get(
            f"{API}/allocation-runs/{run['id']}", params={"sort": "x"}, headers=h["logistics"]
        )
        assert bad_sort.status_code == 422
        assert "sort" in _fields(bad_sort)
        assert (
            client.post(
                f"{API}/allocation-runs/{run['id']}/discard", json={}, headers=h["logistics"]
            ).status_code
            == 200
        )
        assert (
            client.post(
                f"{API}/allocation-runs/{run['id']}/approve", json={}, headers=h["logistics"]
            ).status_code
            == 409
        )


class TestPriorityEventsApi:
    def test_create_list_and_refuse(self, client: TestClient, h: dict[str, dict[str, str]]) -> None:
        today = today_wib()
        payload = {
            "region_prefix": "31",
            "starts_on": (today - dt.timedelta(days=1)).isoformat(),
            "ends_on": (today + dt.timedelta(days=10)).isoformat(),
            "priority_class": 0,
            "reason": "Pilkada DKI putaran kedua",
        }
        assert client.post(f"{API}/priority-events", json=payload, headers=h["operator"]).status_code == 403
        created = client.post(f"{API}/priority-events", json=payload, headers=h["logistics"])
        assert created.status_code == 201
        listed = client.get(
            f"{API}/priority-events", params={"active_on": today.isoformat()}, headers=h["operator"]
        )
        assert [e["reason"] for e in listed.json()] == ["Pilkada DKI putaran kedua"]
        backwards = {**payload, "ends_on": (today - dt.timedelta(days=5)).isoformat()}
        refused = client.post(f"{API}/priority-events", json=backwards, headers=h["logistics"])
        assert refused.status_code == 422
        assert "events.ends_on" in _fields(refused)
        bad_prefix = client.post(
            f"{API}/priority-events", json={**payload, "region_prefix": "DKI"}, headers=h["logistics"]
        )
        assert bad_prefix.status_code == 422
        assert "region_prefix" in _fields(bad_prefix)


class TestIndicatorsApi:
    def test_own_region_and_refusals(
        self, client: TestClient, session: Session, h: dict[str, dict[str, str]]
    ) -> None:
        stock_centre(session, 100)
        response = client.get(f"{API}/indicators/32.04", params={"window_days": 30}, headers=h["operator"])
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["prr_backlog"] == 0
        assert body["sukets_outstanding"] == 0
        assert len(body["days"]) == 90
        assert body["stock_on_hand"] == body["days"][-1]["stock_on_hand"]
        assert client.get(f"{API}/indicators/32.73", headers=h["operator"]).status_code == 403
        bad = client.get(f"{API}/indicators/Bandung", headers=h["logistics"])
        assert bad.status_code == 422
        backwards = client.get(
            f"{API}/indicators/32.04",
            params={"start": "2017-03-10", "end": "2017-03-01"},
            headers=h["logistics"],
        )
        assert backwards.status_code == 422
        assert "start" in _fields(backwards)
        assert client.get(f"{API}/indicators/32.04").status_code == 401
