"""The auth API: tokens, identity, logout, cookie sessions with CSRF, and user administration.
Every endpoint is shown refusing no credentials (401), the wrong role (403), another region (403)
and malformed input (422 naming the field)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI, Request
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ektp.auth import service
from ektp.auth.dependencies import current_principal
from ektp.auth.permissions import Principal, Role
from ektp.config import Settings
from ektp.models.auth import User
from tests.factories.auth import DEFAULT_PASSWORD, auth_headers, make_user, web_login

API = "/api/v1"


def _problem_fields(response: Any) -> set[str]:
    return {problem["field"] for problem in response.json()["problems"]}


@pytest.fixture
def as_principal(app: FastAPI) -> Iterator[Any]:
    """Call the API as an arbitrary principal (e.g. a role scoped to a region that no real role
    combination produces yet), to exercise region scoping."""

    def use(principal: Principal) -> None:
        app.dependency_overrides[current_principal] = lambda: principal

    yield use
    app.dependency_overrides.pop(current_principal, None)


class TestTokenEndpoint:
    def test_issues_a_bearer_token_that_works(self, client: TestClient, session: Session) -> None:
        make_user(session, username="siti")
        response = client.post(f"{API}/auth/token", json={"username": "siti", "password": DEFAULT_PASSWORD})
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_at"]
        me = client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert me.status_code == 200
        assert me.json()["username"] == "siti"
        assert me.json()["auth_method"] == "bearer"
        assert "resident:write" in me.json()["permissions"]

    def test_wrong_password_is_401_with_a_generic_message_and_is_counted(
        self, client: TestClient, session: Session
    ) -> None:
        user = make_user(session, username="siti")
        response = client.post(f"{API}/auth/token", json={"username": "siti", "password": "wrong-password"})
        assert response.status_code == 401
        assert response.json()["message"] == "invalid username or password"
        session.refresh(user)
        assert user.failed_logins == 1

    def test_lock_out_survives_the_failed_requests(self, client: TestClient, session: Session) -> None:
        user = make_user(session, username="siti")
        for _ in range(service.MAX_FAILED_LOGINS):
            wrong = client.post(f"{API}/auth/token", json={"username": "siti", "password": "wrong-password"})
            assert wrong.status_code == 401
        right = client.post(f"{API}/auth/token", json={"username": "siti", "password": DEFAULT_PASSWORD})
        assert right.status_code == 401
        session.refresh(user)
        assert user.locked_until is not None

    def test_unknown_user_gets_the_same_answer(self, client: TestClient) -> None:
        response = client.post(f"{API}/auth/token", json={"username": "nobody", "password": "whatever-pw"})
        assert response.status_code == 401
        assert response.json()["message"] == "invalid username or password"

    @pytest.mark.parametrize(
        ("payload", "field"),
        [
            ({"username": "siti"}, "password"),
            ({"password": "x"}, "username"),
            ({"username": "siti", "password": ""}, "password"),
            ({"username": "siti", "password": 12}, "password"),
            ({"username": "siti", "password": "x", "extra": 1}, "extra"),
        ],
    )
    def test_malformed_input_names_the_field(
        self, client: TestClient, payload: dict[str, Any], field: str
    ) -> None:
        response = client.post(f"{API}/auth/token", json=payload)
        assert response.status_code == 422
        assert field in _problem_fields(response)


class TestBearerAuthentication:
    @pytest.mark.parametrize(
        "authorization", ["Bearer ektp_nonsense", "Basic c2l0aTpwdw==", "Bearer", "Token abc"]
    )
    def test_bad_credentials_are_401(self, client: TestClient, authorization: str) -> None:
        response = client.get(f"{API}/auth/me", headers={"Authorization": authorization})
        assert response.status_code == 401

    @pytest.mark.parametrize(
        ("method", "path"), [("GET", "/auth/me"), ("POST", "/auth/logout"), ("POST", "/auth/password")]
    )
    def test_no_credentials_is_401(self, client: TestClient, method: str, path: str) -> None:
        response = client.request(method, API + path)
        assert response.status_code == 401
        assert response.json()["error"] == "not_authenticated"

    def test_logout_revokes_the_calling_token_only(self, client: TestClient, session: Session) -> None:
        user = make_user(session)
        import datetime as dt

        _, first = service.create_api_token(session, user=user, name="one", ttl=dt.timedelta(hours=1))
        _, second = service.create_api_token(session, user=user, name="two", ttl=dt.timedelta(hours=1))
        response = client.post(f"{API}/auth/logout", headers={"Authorization": f"Bearer {first}"})
        assert response.status_code == 204
        assert client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {first}"}).status_code == 401
        assert client.get(f"{API}/auth/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200

    def test_request_id_reaches_the_audit_trail(self, client: TestClient, session: Session) -> None:
        headers = auth_headers(session, Role.CENTRAL_ADMIN) | {"X-Request-ID": "req-42"}
        response = client.post(
            f"{API}/users",
            headers=headers,
            json={"username": "new.user", "password": "long-enough-pw", "full_name": "N", "role": "auditor"},
        )
        assert response.status_code == 201
        from ektp.audit.repository import history

        (entry,) = history(session, entity_type="user", entity_id=str(response.json()["id"]))
        assert entry.request_id == "req-42"


class TestCookieSessionsAndCsrf:
    def _client_with(self, client: TestClient, cookie: str) -> TestClient:
        client.cookies.set("ektp_session", cookie)
        return client

    def test_cookie_authenticates_reads(
        self, client: TestClient, session: Session, settings: Settings
    ) -> None:
        login = web_login(session, settings, Role.REGIONAL_OPERATOR)
        response = self._client_with(client, login.session_token).get(f"{API}/auth/me")
        assert response.status_code == 200
        assert response.json()["auth_method"] == "cookie"

    def test_unsafe_request_without_csrf_token_is_refused(
        self, client: TestClient, session: Session, settings: Settings
    ) -> None:
        login = web_login(session, settings, Role.CENTRAL_ADMIN)
        response = self._client_with(client, login.session_token).post(
            f"{API}/users",
            json={"username": "new.user", "password": "long-enough-pw", "full_name": "N", "role": "auditor"},
        )
        assert response.status_code == 403
        assert response.json()["message"] == "CSRF token missing or invalid"

    def test_invalid_csrf_token_is_refused(
        self, client: TestClient, session: Session, settings: Settings
    ) -> None:
        login = web_login(session, settings, Role.CENTRAL_ADMIN)
        other = web_login(session, settings, Role.CENTRAL_ADMIN)
        for wrong in ("nonsense", other.csrf_token):
            response = self._client_with(client, login.session_token).post(
                f"{API}/auth/logout", headers={"X-CSRF-Token": wrong}
            )
            assert response.status_code == 403
            assert response.json()["message"] == "CSRF token missing or invalid"

    def test_valid_csrf_header_is_accepted(
        self, client: TestClient, session: Session, settings: Settings
    ) -> None:
        login = web_login(session, settings, Role.CENTRAL_ADMIN)
        response = self._client_with(client, login.session_token).post(
            f"{API}/users",
            headers={"X-CSRF-Token": login.csrf_token},
            json={"username": "new.user", "password": "long-enough-pw", "full_name": "N", "role": "auditor"},
        )
        assert response.status_code == 201, response.text

    def test_valid_csrf_form_field_is_accepted_and_logout_ends_the_session(
        self, client: TestClient, session: Session, settings: Settings
    ) -> None:
        login = web_login(session, settings, Role.VIEWER)
        cookie_client = self._client_with(client, login.session_token)
        response = cookie_client.post(f"{API}/auth/logout", data={"csrf_token": login.csrf_token})
        assert response.status_code == 204
        assert "ektp_session=" in response.headers["set-cookie"]
        cookie_client.cookies.set("ektp_session", login.session_token)
        assert cookie_client.get(f"{API}/auth/me").status_code == 401

    def test_safe_methods_need_no_csrf_token(
        self, client: TestClient, session: Session, settings: Settings
    ) -> None:
        login = web_login(session, settings, Role.AUDITOR)
        assert self._client_with(client, login.session_token).get(f"{API}/users").status_code == 200

    def test_bearer_requests_are_exempt(self, client: TestClient, session: Session) -> None:
        response = client.post(
            f"{API}/users",
            headers=auth_headers(session, Role.CENTRAL_ADMIN),
            json={"username": "new.user", "password": "long-enough-pw", "full_name": "N", "role": "auditor"},
        )
        assert response.status_code == 201

    def test_csrf_token_is_exposed_to_templates(
        self, app: FastAPI, session: Session, settings: Settings
    ) -> None:
        login = web_login(session, settings, Role.VIEWER)

        @app.get("/_test/csrf")
        def csrf_echo(request: Request, _: Principal = Depends(current_principal)) -> dict[str, str]:
            return {"csrf": request.state.csrf_token}

        with TestClient(app) as fresh:
            fresh.cookies.set("ektp_session", login.session_token)
            assert fresh.get("/_test/csrf").json() == {"csrf": login.csrf_token}


def _user_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "username": "operator.bandung",
        "password": "a-long-enough-password",
        "full_name": "Siti Nurhaliza",
        "role": "regional_operator",
        "region_code": "32.04",
    }
    payload.update(overrides)
    return payload


class TestUsersEndpointsRefuse:
    """No credentials → 401; a role without the permission → 403."""

    ENDPOINTS = (
        ("GET", "/users", None),
        ("POST", "/users", _user_payload()),
        ("GET", "/users/{id}", None),
        ("PATCH", "/users/{id}", {"full_name": "X"}),
        ("POST", "/users/{id}/password", {"password": "brand-new-password"}),
    )

    @pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
    def test_without_credentials(
        self, client: TestClient, session: Session, method: str, path: str, body: Any
    ) -> None:
        target = make_user(session)
        response = client.request(method, API + path.format(id=target.id), json=body)
        assert response.status_code == 401

    @pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
    @pytest.mark.parametrize(
        "role", [Role.REGIONAL_OPERATOR, Role.EXAMINER, Role.VIEWER, Role.CENTRAL_LOGISTICS]
    )
    def test_roles_without_user_permissions(
        self, client: TestClient, session: Session, method: str, path: str, body: Any, role: Role
    ) -> None:
        target = make_user(session)
        response = client.request(
            method, API + path.format(id=target.id), json=body, headers=auth_headers(session, role)
        )
        assert response.status_code == 403
        assert "lacks permission" in response.json()["message"]

    @pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS[1:2] + ENDPOINTS[3:])
    def test_auditors_read_but_do_not_write(
        self, client: TestClient, session: Session, method: str, path: str, body: Any
    ) -> None:
        target = make_user(session)
        headers = auth_headers(session, Role.AUDITOR)
        assert client.get(f"{API}/users/{target.id}", headers=headers).status_code == 200
        response = client.request(method, API + path.format(id=target.id), json=body, headers=headers)
        assert response.status_code == 403


class TestUsersRegionScope:
    """A principal scoped to a region manages only that region's users (no shipped role combines
    a region with user permissions yet, so the principal is injected)."""

    @pytest.fixture
    def regional_admin(self, session: Session, as_principal: Any) -> Principal:
        admin = make_user(session, role=Role.CENTRAL_ADMIN)
        principal = Principal(
            user_id=admin.id, username=admin.username, role=Role.CENTRAL_ADMIN, region_code="32"
        )
        as_principal(principal)
        return principal

    def test_other_region_user_is_403(
        self, client: TestClient, session: Session, regional_admin: Principal
    ) -> None:
        outsider = make_user(session, region_code="31.71")
        insider = make_user(session, region_code="32.04")
        assert client.get(f"{API}/users/{insider.id}").status_code == 200
        assert client.get(f"{API}/users/{outsider.id}").status_code == 403
        assert client.patch(f"{API}/users/{outsider.id}", json={"full_name": "X"}).status_code == 403
        assert (
            client.post(
                f"{API}/users/{outsider.id}/password", json={"password": "brand-new-password"}
            ).status_code
            == 403
        )

    def test_creating_a_user_elsewhere_is_403(self, client: TestClient, regional_admin: Principal) -> None:
        assert client.post(f"{API}/users", json=_user_payload(region_code="31.71")).status_code == 403
        assert client.post(f"{API}/users", json=_user_payload(region_code="32.04")).status_code == 201

    def test_moving_a_user_out_of_the_region_is_403(
        self, client: TestClient, session: Session, regional_admin: Principal
    ) -> None:
        insider = make_user(session, region_code="32.04")
        assert client.patch(f"{API}/users/{insider.id}", json={"region_code": "31.71"}).status_code == 403

    def test_list_shows_only_the_region(
        self, client: TestClient, session: Session, regional_admin: Principal
    ) -> None:
        insider = make_user(session, region_code="32.04")
        outsider = make_user(session, region_code="31.71")
        ids = {u["id"] for u in client.get(f"{API}/users", params={"size": 200}).json()["items"]}
        assert insider.id in ids
        assert outsider.id not in ids
        assert client.get(f"{API}/users", params={"region_code": "31"}).status_code == 403


class TestUsersEndpoints:
    def test_create_get_list(self, client: TestClient, session: Session) -> None:
        headers = auth_headers(session, Role.CENTRAL_ADMIN)
        created = client.post(f"{API}/users", json=_user_payload(locale="en"), headers=headers)
        assert created.status_code == 201
        body = created.json()
        assert body["username"] == "operator.bandung"
        assert body["locale"] == "en"
        assert "password" not in body
        assert "password_hash" not in body
        fetched = client.get(f"{API}/users/{body['id']}", headers=headers).json()
        assert fetched == body
        listed = client.get(
            f"{API}/users", params={"role": "regional_operator", "region_code": "32.04"}, headers=headers
        ).json()
        assert [u["username"] for u in listed["items"]] == ["operator.bandung"]
        assert listed["has_next"] is False

    def test_list_pages(self, client: TestClient, session: Session) -> None:
        headers = auth_headers(session, Role.AUDITOR)
        for _ in range(3):
            make_user(session, role=Role.EXAMINER, region_code="31")
        first = client.get(f"{API}/users", params={"role": "examiner", "size": 2}, headers=headers).json()
        second = client.get(
            f"{API}/users", params={"role": "examiner", "size": 2, "page": 2}, headers=headers
        ).json()
        assert len(first["items"]) == 2
        assert first["has_next"]
        assert len(second["items"]) == 1
        assert not second["has_next"]

    def test_missing_user_is_404(self, client: TestClient, session: Session) -> None:
        headers = auth_headers(session, Role.CENTRAL_ADMIN)
        assert client.get(f"{API}/users/999999", headers=headers).status_code == 404

    def test_duplicate_username_is_409(self, client: TestClient, session: Session) -> None:
        headers = auth_headers(session, Role.CENTRAL_ADMIN)
        assert client.post(f"{API}/users", json=_user_payload(), headers=headers).status_code == 201
        response = client.post(f"{API}/users", json=_user_payload(), headers=headers)
        assert response.status_code == 409
        assert _problem_fields(response) == {"username"}

    @pytest.mark.parametrize(
        ("overrides", "field"),
        [
            ({"username": "Bad Name"}, "username"),
            ({"username": "ab"}, "username"),
            ({"password": "short"}, "password"),
            ({"role": "king"}, "role"),
            ({"region_code": "3204"}, "region_code"),
            ({"region_code": 32}, "region_code"),
            ({"locale": "fr"}, "locale"),
            ({"full_name": ""}, "full_name"),
            ({"is_admin": True}, "is_admin"),
        ],
    )
    def test_malformed_create_is_422_naming_the_field(
        self, client: TestClient, session: Session, overrides: dict[str, Any], field: str
    ) -> None:
        headers = auth_headers(session, Role.CENTRAL_ADMIN)
        response = client.post(f"{API}/users", json=_user_payload(**overrides), headers=headers)
        assert response.status_code == 422
        assert field in _problem_fields(response)

    @pytest.mark.parametrize(
        ("overrides", "rule"),
        [
            ({"region_code": None}, "required"),
            ({"region_code": "32.99"}, "unknown_region"),
            ({"role": "auditor"}, "central_role_has_no_region"),
            ({"password": "operator.bandung"}, "not_username"),
        ],
    )
    def test_rule_violations_are_422_naming_field_and_rule(
        self, client: TestClient, session: Session, overrides: dict[str, Any], rule: str
    ) -> None:
        headers = auth_headers(session, Role.CENTRAL_ADMIN)
        response = client.post(f"{API}/users", json=_user_payload(**overrides), headers=headers)
        assert response.status_code == 422
        assert rule in {p["rule"] for p in response.json()["problems"]}

    @pytest.mark.parametrize(
        ("path", "params", "field"),
        [
            ("/users/abc", {}, "user_id"),
            ("/users/0", {}, "user_id"),
            ("/users", {"size": 1000}, "size"),
            ("/users", {"page": 0}, "page"),
            ("/users", {"role": "king"}, "role"),
            ("/users", {"region_code": "x"}, "region_code"),
        ],
    )
    def test_malformed_reads_are_422(
        self, client: TestClient, session: Session, path: str, params: dict[str, Any], field: str
    ) -> None:
        response = client.get(API + path, params=params, headers=auth_headers(session, Role.CENTRAL_ADMIN))
        assert response.status_code == 422
        assert field in _problem_fields(response)

    def test_patch_changes_only_what_is_sent(self, client: TestClient, session: Session) -> None:
        headers = auth_headers(session, Role.CENTRAL_ADMIN)
        user = make_user(session)
        response = client.patch(f"{API}/users/{user.id}", json={"full_name": "Budi Santoso"}, headers=headers)
        assert response.status_code == 200
        assert response.json()["full_name"] == "Budi Santoso"
        assert response.json()["region_code"] == "32.04"
        response = client.patch(
            f"{API}/users/{user.id}", json={"role": "auditor", "region_code": None}, headers=headers
        )
        assert response.json()["role"] == "auditor"
        assert response.json()["region_code"] is None

    def test_patch_deactivation_ends_the_users_tokens(self, client: TestClient, session: Session) -> None:
        admin = auth_headers(session, Role.CENTRAL_ADMIN)
        victim = auth_headers(session, Role.REGIONAL_OPERATOR)
        victim_id = client.get(f"{API}/auth/me", headers=victim).json()["user_id"]
        response = client.patch(f"{API}/users/{victim_id}", json={"is_active": False}, headers=admin)
        assert response.status_code == 200
        assert response.json()["is_active"] is False
        assert client.get(f"{API}/auth/me", headers=victim).status_code == 401

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"is_active": "maybe"}, "is_active"),
            ({"role": "king"}, "role"),
            ({"region_code": "32-04"}, "region_code"),
        ],
    )
    def test_malformed_patch_is_422(
        self, client: TestClient, session: Session, body: dict[str, Any], field: str
    ) -> None:
        user = make_user(session)
        response = client.patch(
            f"{API}/users/{user.id}", json=body, headers=auth_headers(session, Role.CENTRAL_ADMIN)
        )
        assert response.status_code == 422
        assert field in _problem_fields(response)

    def test_admin_sets_a_password(self, client: TestClient, session: Session) -> None:
        user: User = make_user(session, username="siti")
        headers = auth_headers(session, Role.CENTRAL_ADMIN)
        response = client.post(
            f"{API}/users/{user.id}/password", json={"password": "brand-new-password"}, headers=headers
        )
        assert response.status_code == 204
        login = client.post(f"{API}/auth/token", json={"username": "siti", "password": "brand-new-password"})
        assert login.status_code == 200
        short = client.post(f"{API}/users/{user.id}/password", json={"password": "short"}, headers=headers)
        assert short.status_code == 422
        assert _problem_fields(short) == {"password"}

    def test_users_change_their_own_password(self, client: TestClient, session: Session) -> None:
        make_user(session, username="siti")
        token = client.post(
            f"{API}/auth/token", json={"username": "siti", "password": DEFAULT_PASSWORD}
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        wrong = client.post(
            f"{API}/auth/password",
            json={"current_password": "not-it-at-all", "new_password": "brand-new-password"},
            headers=headers,
        )
        assert wrong.status_code == 422
        assert _problem_fields(wrong) == {"current_password"}
        ok = client.post(
            f"{API}/auth/password",
            json={"current_password": DEFAULT_PASSWORD, "new_password": "brand-new-password"},
            headers=headers,
        )
        assert ok.status_code == 204
        assert client.post(f"{API}/auth/password", json={}).status_code == 401
