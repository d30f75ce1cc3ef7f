"""The regions API: reference data for every authenticated role, refused to anonymous callers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from tests.factories.auth import auth_headers

API = "/api/v1/regions"


@pytest.fixture
def headers(session: Session) -> dict[str, str]:
    return auth_headers(session, Role.VIEWER)


def _fields(response_json: dict[str, object]) -> list[str]:
    problems = response_json["problems"]
    assert isinstance(problems, list)
    return [problem["field"] for problem in problems]


class TestProvinces:
    def test_lists_the_38_provinces(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get(API, headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["parent"] is None
        assert len(body["items"]) == 38
        assert body["items"][0] == {
            "code": "11",
            "name": "Aceh",
            "level": 1,
            "kind": "provinsi",
            "parent_code": None,
            "postal_code": None,
            "valid_from": None,
            "valid_to": None,
            "successor_code": None,
            "is_historical": False,
            "source": body["items"][0]["source"],
        }

    def test_anonymous_caller_is_refused(self, client: TestClient) -> None:
        response = client.get(API)
        assert response.status_code == 401

    def test_bad_token_is_refused(self, client: TestClient) -> None:
        response = client.get(API, headers={"Authorization": "Bearer not-a-token"})
        assert response.status_code == 401


class TestLookup:
    def test_current_code(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get(f"{API}/3273", headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["region"]["code"] == "32.73"
        assert body["region"]["kind"] == "kota"
        assert (body["is_historical"], body["inferred"], body["successor"]) == (False, False, None)

    def test_retired_code_is_historical_with_its_successor(
        self, client: TestClient, headers: dict[str, str]
    ) -> None:
        body = client.get(f"{API}/91.01", headers=headers).json()
        assert body["is_historical"] is True
        assert body["region"]["valid_to"] == "2022-07-25"
        assert body["region"]["successor_code"] == "93.01"
        assert body["successor"]["code"] == "93.01"
        assert body["successor"]["name"] == "Kabupaten Merauke"

    def test_district_under_retired_regency_is_inferred(
        self, client: TestClient, headers: dict[str, str]
    ) -> None:
        body = client.get(f"{API}/910101", headers=headers).json()
        assert (body["is_historical"], body["inferred"]) == (True, True)
        assert body["successor"]["code"] == "93.01.01"

    @pytest.mark.parametrize(
        ("code", "rule"),
        [("32x4", "digits_only"), ("320", "length"), ("32.4", "segment_format"), ("00", "zero_segment")],
    )
    def test_malformed_code_is_422_naming_the_field(
        self, client: TestClient, headers: dict[str, str], code: str, rule: str
    ) -> None:
        response = client.get(f"{API}/{code}", headers=headers)
        assert response.status_code == 422
        body = response.json()
        assert body["problems"][0]["field"] == "region_code"
        assert body["problems"][0]["rule"] == rule

    def test_unknown_code_is_404(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get(f"{API}/32.99", headers=headers)
        assert response.status_code == 404
        assert "32.99" in response.json()["message"]

    def test_anonymous_caller_is_refused(self, client: TestClient) -> None:
        assert client.get(f"{API}/32").status_code == 401

    @pytest.mark.parametrize("role", list(Role))
    def test_every_role_may_read_any_region(self, client: TestClient, session: Session, role: Role) -> None:
        # Region reference data is not region-scoped: an operator of 32.04 reads Aceh too.
        response = client.get(f"{API}/11", headers=auth_headers(session, role, region_code="32.04"))
        assert response.status_code == 200
        assert response.json()["region"]["name"] == "Aceh"


class TestChildren:
    def test_districts_of_a_regency(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get(f"{API}/32.04/children", headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["parent"]["code"] == "32.04"
        assert body["items"]
        assert all(item["parent_code"] == "32.04" and item["kind"] == "kecamatan" for item in body["items"])

    def test_historical_children_only_on_request(self, client: TestClient, headers: dict[str, str]) -> None:
        current = client.get(f"{API}/91/children", headers=headers).json()["items"]
        everything = client.get(f"{API}/91/children?include_historical=true", headers=headers).json()["items"]
        assert len(everything) - len(current) == 20
        assert {item["code"] for item in everything if item["is_historical"]} >= {"91.01", "91.02"}

    def test_unknown_parent_is_404(self, client: TestClient, headers: dict[str, str]) -> None:
        assert client.get(f"{API}/32.99/children", headers=headers).status_code == 404

    def test_malformed_parent_is_422(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get(f"{API}/3x/children", headers=headers)
        assert response.status_code == 422
        assert _fields(response.json()) == ["region_code"]

    def test_anonymous_caller_is_refused(self, client: TestClient) -> None:
        assert client.get(f"{API}/32/children").status_code == 401


class TestSearch:
    def test_finds_by_name(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get(f"{API}/search", params={"q": "bandung"}, headers=headers)
        assert response.status_code == 200
        body = response.json()
        assert body["query"] == "bandung"
        assert [item["code"] for item in body["items"][:2]] == ["32.04", "32.73"]

    def test_filters(self, client: TestClient, headers: dict[str, str]) -> None:
        params: dict[str, str | int] = {"q": "su", "level": 3, "parent": "32", "limit": 5}
        items = client.get(f"{API}/search", params=params, headers=headers).json()["items"]
        assert 0 < len(items) <= 5
        assert all(item["level"] == 3 and item["code"].startswith("32.") for item in items)

    @pytest.mark.parametrize(
        ("params", "field"),
        [
            ({}, "q"),
            ({"q": "a"}, "q"),
            ({"q": "!!"}, "q"),
            ({"q": "bandung", "level": 7}, "level"),
            ({"q": "bandung", "level": "two"}, "level"),
            ({"q": "bandung", "parent": "3x"}, "parent"),
            ({"q": "bandung", "limit": 1000}, "limit"),
        ],
    )
    def test_bad_input_is_422_naming_the_field(
        self, client: TestClient, headers: dict[str, str], params: dict[str, object], field: str
    ) -> None:
        response = client.get(f"{API}/search", params=params, headers=headers)
        assert response.status_code == 422
        assert field in _fields(response.json())

    def test_unknown_parent_is_404(self, client: TestClient, headers: dict[str, str]) -> None:
        response = client.get(f"{API}/search", params={"q": "bandung", "parent": "32.99"}, headers=headers)
        assert response.status_code == 404
        assert _fields(response.json()) == ["parent"]

    def test_anonymous_caller_is_refused(self, client: TestClient) -> None:
        assert client.get(f"{API}/search", params={"q": "bandung"}).status_code == 401
