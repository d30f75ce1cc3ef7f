"""Test fixtures: a real database built by the migrations, once per backend per test session.

Every test that asks for ``session`` runs inside a transaction that is rolled back afterwards.
The suite runs on SQLite always, and on PostgreSQL too when ``EKTP_TEST_POSTGRES_URL`` is set
(database-backed tests are parametrised over the backends)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from ektp.app import create_app
from ektp.config import Settings
from ektp.db.engine import make_engine
from ektp.db.migrate import upgrade
from ektp.dependencies import get_session
from tests.scratch_postgres import create_database, drop_database

#: Villages are loaded for these provinces only (the other levels are loaded in full), which keeps
#: the per-session set-up to a few seconds.
TEST_VILLAGE_PROVINCES = ("31", "32")

POSTGRES_URL = os.environ.get("EKTP_TEST_POSTGRES_URL", "")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES_URL else [])


def _seed_reference_data(engine: Engine) -> None:
    from ektp.db.session import unit_of_work
    from ektp.regions.service import load_regions

    with unit_of_work(engine) as session:
        load_regions(session, village_provinces=TEST_VILLAGE_PROVINCES)


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("db") / "ektp-test.sqlite3"
        url = f"sqlite:///{path}"
        upgrade(url)
        engine = make_engine(url)
        _seed_reference_data(engine)
        engine.dispose()
        yield url
        return
    url, name = create_database(POSTGRES_URL, f"ektp_test_{os.getpid()}")
    try:
        upgrade(url)
        engine = make_engine(url)
        _seed_reference_data(engine)
        engine.dispose()
        yield url
    finally:
        drop_database(POSTGRES_URL, name)


@pytest.fixture(scope="session")
def db_engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def backend(db_engine: Engine) -> str:
    return db_engine.dialect.name


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test. The code under
    test may commit: with ``create_savepoint`` its commits and rollbacks act on savepoints."""
    connection = db_engine.connect()
    outer = connection.begin()
    session = Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)
    try:
        yield session
    finally:
        session.close()
        outer.rollback()
        connection.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    # A test installation: the synthetic capture generator is accepted, as in the demo.
    return Settings(
        database_url=database_url,
        data_dir=tmp_path,
        secret_key="test-secret-key-0123456789abcdef",
        allow_synthetic_capture=True,
    )


@pytest.fixture
def app(settings: Settings, session: Session) -> FastAPI:
    """The application, with each request's unit of work running on the test's session, so that a
    request's commit or rollback behaves as in production but nothing outlives the test."""
    application = create_app(settings)

    def _test_session() -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise

    application.dependency_overrides[get_session] = _test_session
    return application


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=True) as test_client:
        yield test_client
