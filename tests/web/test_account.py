"""Login, logout, the language switch and the redirect to the login form (TestClient)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ektp.auth.permissions import Role
from ektp.models.auth import User, WebSession
from ektp.web.account import LOGIN_CSRF_COOKIE
from tests.factories.auth import DEFAULT_PASSWORD, make_user
from tests.web.conftest import HTML, LoginAs, field_errors, form_value, heading


def _login_form(client: TestClient) -> str:
    response = client.get("/login", headers=HTML)
    assert response.status_code == 200
    return form_value(response.text, "csrf_token")


def _post_login(client: TestClient, username: str, password: str, token: str, next_path: str = "/"):
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
        headers=HTML,
        follow_redirects=False,
    )


class TestLoginForm:
    def test_is_in_indonesian_by_default(self, client: TestClient) -> None:
        response = client.get("/login", headers=HTML)
        assert response.status_code == 200
        assert '<html lang="id">' in response.text
        assert heading(response.text) == "Masuk"
        assert "Kata sandi" in response.text

    def test_is_in_english_when_chosen(self, client: TestClient) -> None:
        client.cookies.set("ektp_lang", "en")
        response = client.get("/login", headers=HTML)
        assert '<html lang="en">' in response.text
        assert heading(response.text) == "Log in"
        assert "Password" in response.text

    def test_sets_a_pre_session_csrf_cookie_bound_to_the_form_token(self, client: TestClient) -> None:
        response = client.get("/login", headers=HTML)
        nonce = response.cookies.get(LOGIN_CSRF_COOKIE)
        assert nonce
        token = form_value(response.text, "csrf_token")
        assert token
        assert nonce not in token
        again = client.get("/login", headers=HTML)
        assert form_value(again.text, "csrf_token") == token, "the nonce is kept across reloads"

    def test_logged_in_user_is_sent_on(self, client: TestClient, login_as: LoginAs) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        response = client.get("/login?next=/", headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/"


class TestLoginSubmit:
    def test_valid_credentials_open_a_session_and_go_to_next(
        self, client: TestClient, session: Session
    ) -> None:
        make_user(session, role=Role.REGIONAL_OPERATOR, region_code="32.04", username="operator.bdg")
        token = _login_form(client)
        response = _post_login(client, "operator.bdg", DEFAULT_PASSWORD, token, next_path="/?x=1")
        assert response.status_code == 303
        assert response.headers["location"] == "/?x=1"
        assert response.cookies.get("ektp_session")
        home = client.get("/", headers=HTML)
        assert home.status_code == 200
        assert "Selamat datang" in heading(home.text)
        assert "Operator daerah" in home.text
        assert "(32.04)" in home.text

    def test_without_csrf_token_is_refused(self, client: TestClient, session: Session) -> None:
        make_user(session, username="operator.nocsrf")
        client.get("/login", headers=HTML)
        response = _post_login(client, "operator.nocsrf", DEFAULT_PASSWORD, "")
        assert response.status_code == 403
        assert "ektp_session" not in response.cookies
        assert "kedaluwarsa atau tidak berasal dari situs ini" in response.text
        assert session.scalars(select(WebSession)).all() == []

    def test_token_without_its_cookie_is_refused(self, client: TestClient, session: Session) -> None:
        make_user(session, username="operator.forged")
        token = _login_form(client)
        client.cookies.clear()
        response = _post_login(client, "operator.forged", DEFAULT_PASSWORD, token)
        assert response.status_code == 403
        assert "ektp_session" not in response.cookies

    def test_token_of_another_browser_is_refused(self, client: TestClient, session: Session) -> None:
        make_user(session, username="operator.swap")
        token = _login_form(client)
        client.cookies.set(LOGIN_CSRF_COOKIE, "A" * 43)
        response = _post_login(client, "operator.swap", DEFAULT_PASSWORD, token)
        assert response.status_code == 403

    def test_wrong_password_is_shown_and_counted(self, client: TestClient, session: Session) -> None:
        user = make_user(session, username="operator.typo")
        token = _login_form(client)
        response = _post_login(client, "operator.typo", "not-the-password", token)
        assert response.status_code == 401
        assert "Nama pengguna atau kata sandi salah" in response.text
        assert form_value(response.text, "username") == "operator.typo"
        assert "not-the-password" not in response.text
        session.expire_all()
        assert session.get(User, user.id).failed_logins == 1  # type: ignore[union-attr]

    def test_empty_fields_are_named(self, client: TestClient) -> None:
        token = _login_form(client)
        response = _post_login(client, "", "", token)
        assert response.status_code == 422
        errors = field_errors(response.text)
        assert errors["username"] == ["Masukkan nama pengguna Anda."]
        assert errors["password"] == ["Masukkan kata sandi Anda."]

    @pytest.mark.parametrize(
        "target", ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"]
    )
    def test_next_never_leaves_the_site(self, client: TestClient, session: Session, target: str) -> None:
        make_user(session, username="operator.next")
        token = _login_form(client)
        response = _post_login(client, "operator.next", DEFAULT_PASSWORD, token, next_path=target)
        assert response.status_code == 303
        assert response.headers["location"] == "/"


class TestLoginRequired:
    def test_page_redirects_to_login_with_the_way_back(self, client: TestClient) -> None:
        response = client.get("/?tab=1", headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2F%3Ftab%3D1"

    def test_redirect_does_not_depend_on_the_accept_header(self, client: TestClient) -> None:
        response = client.get("/", follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login"

    def test_ended_session_redirects(self, client: TestClient, login_as: LoginAs, session: Session) -> None:
        login_as(Role.VIEWER, "32")
        for web_session in session.scalars(select(WebSession)):
            web_session.revoked_at = web_session.created_at
        session.flush()
        response = client.get("/", headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")


class TestLogout:
    def test_ends_the_session(self, client: TestClient, login_as: LoginAs) -> None:
        login = login_as(Role.REGIONAL_OPERATOR, "32.04")
        home = client.get("/", headers=HTML)
        token = form_value(home.text, "csrf_token")
        assert token == login.csrf_token
        response = client.post("/logout", data={"csrf_token": token}, headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login?notice=logged_out"
        client.cookies.set("ektp_session", login.session_token)  # a stolen copy of the cookie
        assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303
        bye = client.get("/login?notice=logged_out", headers=HTML)
        assert "Anda telah keluar." in bye.text

    def test_without_csrf_token_is_refused(self, client: TestClient, login_as: LoginAs) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        response = client.post("/logout", data={"csrf_token": "forged"}, headers=HTML, follow_redirects=False)
        assert response.status_code == 403
        assert heading(response.text) == "Akses ditolak"
        assert client.get("/", headers=HTML).status_code == 200, "the session is still open"

    def test_when_not_logged_in_goes_to_the_login_form(self, client: TestClient) -> None:
        response = client.post("/logout", data={}, headers=HTML, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/login"


class TestLanguageSwitch:
    def test_stores_the_choice_and_returns(self, client: TestClient) -> None:
        response = client.post(
            "/language", data={"lang": "en", "next": "/login?next=%2F"}, headers=HTML, follow_redirects=False
        )
        assert response.status_code == 303
        assert response.headers["location"] == "/login?next=%2F"
        assert response.cookies.get("ektp_lang") == "en"
        assert heading(client.get("/login", headers=HTML).text) == "Log in"
        client.post("/language", data={"lang": "id", "next": "/login"}, headers=HTML)
        assert heading(client.get("/login", headers=HTML).text) == "Masuk"

    def test_unknown_language_is_refused_naming_the_field(self, client: TestClient) -> None:
        response = client.post(
            "/language", data={"lang": "fr", "next": "/"}, headers=HTML, follow_redirects=False
        )
        assert response.status_code == 422
        assert "lang" in response.text
        assert "ektp_lang" not in response.cookies

    def test_never_redirects_off_site(self, client: TestClient) -> None:
        response = client.post(
            "/language",
            data={"lang": "en", "next": "https://evil.example"},
            headers=HTML,
            follow_redirects=False,
        )
        assert response.headers["location"] == "/"

    def test_user_stored_locale_applies_until_the_switch_is_used(
        self, client: TestClient, login_as: LoginAs, session: Session
    ) -> None:
        login = login_as(Role.REGIONAL_OPERATOR, "32.04")
        login.user.locale = "en"
        session.flush()
        assert "Welcome" in heading(client.get("/", headers=HTML).text)
        client.cookies.set("ektp_lang", "id")
        assert "Selamat datang" in heading(client.get("/", headers=HTML).text)


class TestLayout:
    def test_shows_user_region_nav_and_logout(self, client: TestClient, login_as: LoginAs) -> None:
        login_as(Role.REGIONAL_OPERATOR, "32.04")
        page = client.get("/", headers=HTML).text
        assert "Test Regional Operator" in page
        assert "BANDUNG" in page.upper()
        assert 'action="/logout"' in page
        assert 'href="/" aria-current="page"' in page
        assert 'action="/language"' in page

    def test_central_user_sees_all_regions(self, client: TestClient, login_as: LoginAs) -> None:
        login_as(Role.AUDITOR)
        page = client.get("/", headers=HTML).text
        assert "Semua wilayah" in page

    def test_static_stylesheet_is_served(self, client: TestClient) -> None:
        response = client.get("/static/ektp.css")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/css")
