"""Users, passwords, logins, tokens and web sessions through the service layer."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ektp.audit.repository import history
from ektp.auth import passwords, service
from ektp.auth.permissions import SYSTEM, Principal, Role
from ektp.kit.errors import Conflict, InvalidState, NotAuthenticated, PermissionDenied, ValidationFailed
from ektp.kit.time import utcnow
from ektp.models.auth import ApiToken, User
from tests.factories.auth import DEFAULT_PASSWORD, make_user


def _fields(exc: pytest.ExceptionInfo[ValidationFailed]) -> dict[str, str]:
    return {problem.field: problem.rule for problem in exc.value.problems}


def _create(session: Session, **overrides: object) -> User:
    arguments: dict[str, object] = {
        "username": "operator.bandung",
        "password": "a-long-enough-password",
        "full_name": "Siti Nurhaliza",
        "role": Role.REGIONAL_OPERATOR,
        "region_code": "32.04",
        "actor": SYSTEM,
    }
    arguments.update(overrides)
    return service.create_user(session, **arguments)  # type: ignore[arg-type]


class TestCreateUser:
    def test_creates_an_active_user_with_an_argon2_hash(self, session: Session) -> None:
        user = _create(session)
        assert user.id is not None
        assert user.is_active
        assert user.locale == "id"
        assert user.failed_logins == 0
        assert user.password_hash.startswith("$argon2id$")
        assert passwords.verify_password(user.password_hash, "a-long-enough-password")

    def test_is_audited_without_the_password_hash(self, session: Session) -> None:
        user = _create(session)
        (entry,) = history(session, entity_type="user", entity_id=str(user.id))
        assert entry.action == "user.create"
        assert entry.actor_username == "system"
        assert entry.after == {
            "username": "operator.bandung",
            "full_name": "Siti Nurhaliza",
            "role": "regional_operator",
            "region_code": "32.04",
            "is_active": True,
            "locale": "id",
        }
        assert user.password_hash not in (entry.after_json or "")

    def test_central_roles_have_no_region(self, session: Session) -> None:
        user = _create(session, role=Role.AUDITOR, region_code=None)
        assert user.region_code is None
        with pytest.raises(ValidationFailed) as exc:
            _create(session, username="auditor.two", role=Role.AUDITOR, region_code="32")
        assert _fields(exc) == {"region_code": "central_role_has_no_region"}

    @pytest.mark.parametrize(
        ("region_code", "rule"),
        [
            (None, "required"),
            ("32.04.01", "region_level"),
            ("3204", "region_level"),
            ("32.99", "unknown_region"),
            ("91.01", "retired_region"),
        ],
    )
    def test_regional_roles_need_a_current_province_or_regency(
        self, session: Session, region_code: str | None, rule: str
    ) -> None:
        with pytest.raises(ValidationFailed) as exc:
            _create(session, region_code=region_code)
        assert _fields(exc) == {"region_code": rule}

    def test_a_province_is_a_valid_region(self, session: Session) -> None:
        assert _create(session, role=Role.VIEWER, region_code="31").region_code == "31"

    @pytest.mark.parametrize(
        ("username", "rule"),
        [
            ("ab", "length"),
            ("x" * 41, "length"),
            ("Operator", "pattern"),
            ("op erator", "pattern"),
            ("opé", "pattern"),
        ],
    )
    def test_username_rules(self, session: Session, username: str, rule: str) -> None:
        with pytest.raises(ValidationFailed) as exc:
            _create(session, username=username)
        assert _fields(exc) == {"username": rule}

    @pytest.mark.parametrize(
        ("password", "rule"),
        [("short-pw", "min_length"), ("operator.bandung", "not_username"), ("x" * 257, "max_length")],
    )
    def test_password_policy(self, session: Session, password: str, rule: str) -> None:
        with pytest.raises(ValidationFailed) as exc:
            _create(session, password=password)
        assert _fields(exc) == {"password": rule}

    def test_reports_every_bad_field_at_once(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as exc:
            _create(session, username="X", password="short", full_name="  ", locale="fr", region_code=None)
        assert set(_fields(exc)) == {"username", "password", "full_name", "locale", "region_code"}

    def test_unknown_role_names_the_field(self, session: Session) -> None:
        with pytest.raises(ValidationFailed) as exc:
            _create(session, role="king")
        assert _fields(exc) == {"role": "choice"}

    def test_username_is_unique(self, session: Session) -> None:
        _create(session)
        with pytest.raises(Conflict) as exc:
            _create(session, full_name="Another")
        assert exc.value.problems[0].field == "username"

    def test_a_regional_actor_manages_only_its_region(self, session: Session) -> None:
        actor = Principal(user_id=None, username="admin.jabar", role=Role.CENTRAL_ADMIN, region_code="32")
        assert _create(session, actor=actor).region_code == "32.04"
        with pytest.raises(PermissionDenied):
            _create(session, username="operator.jakarta", region_code="31.71", actor=actor)
        with pytest.raises(PermissionDenied):
            _create(session, username="central.x", role=Role.CENTRAL_ADMIN, region_code=None, actor=actor)


class TestDatabaseChecks:
    """The CHECK constraints hold even when the service is bypassed."""

    def _insert(self, session: Session, **values: object) -> None:
        row = {
            "username": "raw.user",
            "full_name": "Raw",
            "password_hash": "x",
            "role": Role.REGIONAL_OPERATOR,
            "region_code": "32.04",
        }
        row.update(values)
        with session.begin_nested():
            session.add(User(**row))
            session.flush()

    def test_refuses_a_regional_operator_without_a_region(self, session: Session) -> None:
        with pytest.raises(IntegrityError, match=r"(?i)region_scope|check"):
            self._insert(session, region_code=None)

    def test_refuses_a_central_role_with_a_region(self, session: Session) -> None:
        with pytest.raises(IntegrityError, match=r"(?i)region_scope|check"):
            self._insert(session, role=Role.CENTRAL_ADMIN, region_code="32")

    def test_refuses_an_uppercase_username(self, session: Session) -> None:
        with pytest.raises(IntegrityError, match=r"(?i)username_format|check"):
            self._insert(session, username="Raw.User")

    def test_refuses_an_unknown_region(self, session: Session) -> None:
        with pytest.raises(IntegrityError):
            self._insert(session, region_code="99.99")

    def test_accepts_a_valid_row(self, session: Session) -> None:
        self._insert(session)
        assert session.scalars(select(User).where(User.username == "raw.user")).one().region_code == "32.04"


class TestAuthenticate:
    def test_right_password_logs_in(self, session: Session) -> None:
        user = make_user(session, username="siti")
        logged_in = service.authenticate(session, username="siti", password=DEFAULT_PASSWORD)
        assert logged_in is user
        assert user.last_login_at is not None
        assert user.failed_logins == 0

    def test_username_is_case_insensitive_at_login(self, session: Session) -> None:
        user = make_user(session, username="siti")
        assert service.authenticate(session, username=" Siti ", password=DEFAULT_PASSWORD) is user

    @pytest.mark.parametrize(
        ("username", "password"), [("siti", "wrong-password"), ("nobody", DEFAULT_PASSWORD)]
    )
    def test_failures_give_one_generic_message(self, session: Session, username: str, password: str) -> None:
        make_user(session, username="siti")
        with pytest.raises(NotAuthenticated) as exc:
            service.authenticate(session, username=username, password=password)
        assert exc.value.message == "invalid username or password"

    def test_wrong_password_counts_a_failure(self, session: Session) -> None:
        user = make_user(session, username="siti")
        for expected in (1, 2):
            with pytest.raises(NotAuthenticated):
                service.authenticate(session, username="siti", password="wrong-password")
            assert user.failed_logins == expected
        service.authenticate(session, username="siti", password=DEFAULT_PASSWORD)
        assert user.failed_logins == 0

    def test_ten_failures_lock_the_account_for_fifteen_minutes(self, session: Session) -> None:
        user = make_user(session, username="siti")
        start = utcnow()
        for _ in range(service.MAX_FAILED_LOGINS):
            with pytest.raises(NotAuthenticated):
                service.authenticate(session, username="siti", password="wrong-password", now=start)
        assert user.locked_until == start + dt.timedelta(minutes=15)
        lock = history(session, entity_type="user", entity_id=str(user.id))[-1]
        assert lock.action == "user.lock"
        assert lock.actor_username == "system"
        with pytest.raises(NotAuthenticated) as exc:
            service.authenticate(
                session, username="siti", password=DEFAULT_PASSWORD, now=start + dt.timedelta(minutes=14)
            )
        assert exc.value.message == "invalid username or password"
        later = start + dt.timedelta(minutes=15, seconds=1)
        assert service.authenticate(session, username="siti", password=DEFAULT_PASSWORD, now=later) is user
        assert user.locked_until is None

    def test_nine_failures_do_not_lock(self, session: Session) -> None:
        user = make_user(session, username="siti")
        for _ in range(service.MAX_FAILED_LOGINS - 1):
            with pytest.raises(NotAuthenticated):
                service.authenticate(session, username="siti", password="wrong-password")
        assert user.locked_until is None
        assert service.authenticate(session, username="siti", password=DEFAULT_PASSWORD) is user

    def test_inactive_user_cannot_log_in(self, session: Session) -> None:
        user = make_user(session, username="siti")
        service.deactivate_user(session, user=user, actor=SYSTEM)
        with pytest.raises(NotAuthenticated):
            service.authenticate(session, username="siti", password=DEFAULT_PASSWORD)

    def test_hash_with_outdated_parameters_is_replaced_at_login(self, session: Session) -> None:
        user = make_user(session, username="siti")
        weaker = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1)
        user.password_hash = weaker.hash(DEFAULT_PASSWORD)
        old_hash = user.password_hash
        assert passwords.needs_rehash(old_hash)
        service.authenticate(session, username="siti", password=DEFAULT_PASSWORD)
        assert user.password_hash != old_hash
        assert not passwords.needs_rehash(user.password_hash)
        assert passwords.verify_password(user.password_hash, DEFAULT_PASSWORD)

    def test_current_hash_is_kept_at_login(self, session: Session) -> None:
        user = make_user(session, username="siti")
        before = user.password_hash
        service.authenticate(session, username="siti", password=DEFAULT_PASSWORD)
        assert user.password_hash == before


class TestPasswords:
    def test_hashes_are_salted(self) -> None:
        assert passwords.hash_password("same password") != passwords.hash_password("same password")

    def test_a_broken_hash_never_verifies_and_needs_rehash(self) -> None:
        assert not passwords.verify_password("not-a-hash", "anything")
        assert passwords.needs_rehash("not-a-hash")

    def test_production_hasher_is_argon2id_with_rfc9106_parameters(self) -> None:
        hasher = passwords.DEFAULT_HASHER
        assert (hasher.time_cost, hasher.memory_cost, hasher.parallelism) == (3, 65536, 4)

    def test_set_password_ends_web_sessions(self, session: Session) -> None:
        user = make_user(session)
        _, token = service.start_web_session(session, user=user, ttl=dt.timedelta(hours=1))
        service.set_password(session, user=user, password="brand-new-password", actor=SYSTEM)
        with pytest.raises(NotAuthenticated):
            service.principal_for_web_session(session, token)
        assert service.authenticate(session, username=user.username, password="brand-new-password") is user
        (entry,) = [
            e
            for e in history(session, entity_type="user", entity_id=str(user.id))
            if e.action == "user.password_change"
        ]
        assert user.password_hash not in (entry.after_json or "")

    def test_change_password_needs_the_current_one(self, session: Session) -> None:
        user = make_user(session)
        with pytest.raises(ValidationFailed) as exc:
            service.change_password(
                session, user=user, current_password="wrong", new_password="brand-new-password"
            )
        assert _fields(exc) == {"current_password": "mismatch"}
        with pytest.raises(ValidationFailed) as exc:
            service.change_password(
                session, user=user, current_password=DEFAULT_PASSWORD, new_password=DEFAULT_PASSWORD
            )
        assert _fields(exc) == {"new_password": "unchanged"}
        service.change_password(
            session, user=user, current_password=DEFAULT_PASSWORD, new_password="brand-new-password"
        )
        assert passwords.verify_password(user.password_hash, "brand-new-password")


class TestApiTokens:
    def test_secret_is_shown_once_and_stored_as_sha256(self, session: Session) -> None:
        user = make_user(session)
        token, secret = service.create_api_token(session, user=user, name="laptop", ttl=dt.timedelta(days=1))
        assert secret.startswith("ektp_")
        assert len(secret) > 40
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in {token.token_hash, token.name}
        principal = service.principal_for_bearer(session, secret)
        assert principal == Principal(user.id, user.username, Role.REGIONAL_OPERATOR, "32.04")
        assert token.last_used_at is not None

    def test_unknown_token_is_refused(self, session: Session) -> None:
        with pytest.raises(NotAuthenticated):
            service.principal_for_bearer(session, "ektp_not-a-real-token")

    def test_expired_token_is_refused(self, session: Session) -> None:
        user = make_user(session)
        token, secret = service.create_api_token(
            session, user=user, name="short", ttl=dt.timedelta(minutes=5)
        )
        service.resolve_bearer(session, secret, now=token.created_at + dt.timedelta(minutes=4))
        with pytest.raises(NotAuthenticated, match="expired"):
            service.resolve_bearer(session, secret, now=token.created_at + dt.timedelta(minutes=5))

    def test_revoked_token_is_refused(self, session: Session) -> None:
        user = make_user(session)
        token, secret = service.create_api_token(session, user=user, name="laptop", ttl=dt.timedelta(days=1))
        service.revoke_api_token(session, token=token, actor=service.principal_of(user))
        with pytest.raises(NotAuthenticated, match="revoked"):
            service.principal_for_bearer(session, secret)
        actions = [e.action for e in history(session, entity_type="api_token", entity_id=str(token.id))]
        assert actions == ["api_token.create", "api_token.revoke"]

    def test_deactivating_a_user_revokes_tokens_and_they_stay_revoked(self, session: Session) -> None:
        user = make_user(session)
        _, secret = service.create_api_token(session, user=user, name="laptop", ttl=dt.timedelta(days=1))
        service.deactivate_user(session, user=user, actor=SYSTEM)
        with pytest.raises(NotAuthenticated):
            service.principal_for_bearer(session, secret)
        service.activate_user(session, user=user, actor=SYSTEM)
        with pytest.raises(NotAuthenticated, match="revoked"):
            service.principal_for_bearer(session, secret)

    @pytest.mark.parametrize(("name", "ttl"), [("", dt.timedelta(days=1)), ("x", dt.timedelta(0))])
    def test_bad_name_or_lifetime_is_refused(self, session: Session, name: str, ttl: dt.timedelta) -> None:
        user = make_user(session)
        with pytest.raises(ValidationFailed):
            service.create_api_token(session, user=user, name=name, ttl=ttl)
        assert session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)).all() == []


class TestWebSessions:
    def test_session_gives_the_principal_until_logout(self, session: Session) -> None:
        user = make_user(session, role=Role.EXAMINER, region_code="32")
        web_session, token = service.start_web_session(session, user=user, ttl=dt.timedelta(hours=8))
        assert web_session.id == hashlib.sha256(token.encode()).hexdigest()
        assert service.principal_for_web_session(session, token).role is Role.EXAMINER
        service.logout(session, session_token=token)
        with pytest.raises(NotAuthenticated):
            service.principal_for_web_session(session, token)
        assert not service.end_web_session(session, session_token=token)
        entries = history(session, entity_type="user", entity_id=str(user.id))
        assert [e.action for e in entries] == ["user.create", "user.login", "user.logout"]
        assert entries[1].actor_username == user.username
        assert token not in (entries[1].after_json or "")

    def test_expired_session_is_refused(self, session: Session) -> None:
        user = make_user(session)
        web_session, token = service.start_web_session(session, user=user, ttl=dt.timedelta(hours=1))
        with pytest.raises(NotAuthenticated):
            service.resolve_web_session(session, token, now=web_session.expires_at)

    def test_login_with_password_opens_a_session(self, session: Session, settings: object) -> None:
        from ektp.config import Settings

        assert isinstance(settings, Settings)
        user = make_user(session, username="siti")
        logged_in, token = service.login_with_password(
            session, username="siti", password=DEFAULT_PASSWORD, settings=settings
        )
        assert logged_in is user
        web_session, _ = service.resolve_web_session(session, token)
        assert web_session.expires_at - web_session.created_at == dt.timedelta(
            seconds=settings.session_max_age_seconds
        )
        with pytest.raises(NotAuthenticated):
            service.login_with_password(
                session, username="siti", password="wrong-password", settings=settings
            )


class TestUpdateUser:
    def test_moving_to_a_central_role_drops_the_region(self, session: Session) -> None:
        user = make_user(session)
        service.change_role(session, user=user, role=Role.AUDITOR, region_code=None, actor=SYSTEM)
        assert (user.role, user.region_code) == (Role.AUDITOR, None)
        service.update_user(session, user=user, actor=SYSTEM, role=Role.VIEWER, region_code="31.71")
        assert (user.role, user.region_code) == (Role.VIEWER, "31.71")
        entries = history(session, entity_type="user", entity_id=str(user.id))
        assert [e.action for e in entries] == ["user.create", "user.update", "user.update"]
        assert entries[1].before == {"role": "regional_operator", "region_code": "32.04"}
        assert entries[1].after == {"role": "auditor", "region_code": None}

    def test_regional_role_without_region_is_refused(self, session: Session) -> None:
        user = make_user(session, role=Role.AUDITOR)
        with pytest.raises(ValidationFailed) as exc:
            service.update_user(session, user=user, actor=SYSTEM, role=Role.REGIONAL_OPERATOR)
        assert _fields(exc) == {"region_code": "required"}

    def test_no_change_records_nothing(self, session: Session) -> None:
        user = make_user(session)
        service.update_user(session, user=user, actor=SYSTEM, full_name=user.full_name)
        assert [e.action for e in history(session, entity_type="user", entity_id=str(user.id))] == [
            "user.create"
        ]

    def test_users_cannot_deactivate_themselves_or_change_their_role(self, session: Session) -> None:
        admin = make_user(session, role=Role.CENTRAL_ADMIN)
        me = service.principal_of(admin)
        with pytest.raises(InvalidState):
            service.deactivate_user(session, user=admin, actor=me)
        with pytest.raises(InvalidState):
            service.update_user(session, user=admin, actor=me, role=Role.AUDITOR)
        assert admin.is_active
        assert admin.role is Role.CENTRAL_ADMIN

    def test_activate_clears_a_lock_out(self, session: Session) -> None:
        user = make_user(session, username="siti")
        for _ in range(service.MAX_FAILED_LOGINS):
            with pytest.raises(NotAuthenticated):
                service.authenticate(session, username="siti", password="wrong-password")
        assert service.unlock_user(session, user=user, actor=SYSTEM)
        assert service.authenticate(session, username="siti", password=DEFAULT_PASSWORD) is user


class TestListUsers:
    def test_a_regional_viewer_sees_only_its_region(self, session: Session) -> None:
        inside = make_user(session, region_code="32.04")
        province = make_user(session, role=Role.VIEWER, region_code="32")
        outside = make_user(session, region_code="31.71")
        central = make_user(session, role=Role.CENTRAL_ADMIN)
        viewer = Principal(user_id=None, username="x", role=Role.CENTRAL_ADMIN, region_code="32")
        seen = {u.id for u in service.list_users(session, viewer=viewer, limit=1000)}
        assert {inside.id, province.id} <= seen
        assert outside.id not in seen
        assert central.id not in seen
        national = {u.id for u in service.list_users(session, viewer=SYSTEM, limit=1000)}
        assert {inside.id, province.id, outside.id, central.id} <= national

    def test_filters_by_role_and_region(self, session: Session) -> None:
        make_user(session, region_code="32.04")
        examiner = make_user(session, role=Role.EXAMINER, region_code="32.04")
        found = service.list_users(session, viewer=SYSTEM, role=Role.EXAMINER, region_code="32.04")
        assert [u.id for u in found] == [examiner.id]
