"""A throw-away PostgreSQL database for the race tests.

Row-lock races (``FOR UPDATE``, ``SKIP LOCKED``, unique constraints hit by two committers) need
transactions that really commit on a server, so these tests cannot use the per-test rollback of
the shared ``db_session`` fixture. Each gets its own database, built by the migrations, with the
regions loaded, and dropped afterwards (``WITH (FORCE)``: a racing thread that is still connected
must not leave it behind).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from ektp.blanko import contracts
from ektp.db.engine import make_engine, normalise_url
from ektp.db.migrate import upgrade
from ektp.db.session import unit_of_work
from ektp.regions.service import load_regions

POSTGRES_URL = os.environ.get("EKTP_TEST_POSTGRES_URL", "")


@contextmanager
def scratch_postgres(
    prefix: str,
    *,
    why: str,
    pool_size: int = 10,
    village_provinces: Sequence[str] = ("32",),
    blank_locations: bool = False,
) -> Iterator[Engine]:
    """A migrated database with the regions (and, if asked, the blank stock locations) loaded.

    Skips the test, saying ``why`` PostgreSQL is needed, when ``EKTP_TEST_POSTGRES_URL`` is unset.
    """
    if not POSTGRES_URL:
        pytest.skip(f"EKTP_TEST_POSTGRES_URL not set ({why})")
    url, name = create_database(POSTGRES_URL, f"ektp_{prefix}")
    try:
        upgrade(url)
        engine = make_engine(url, pool_size=pool_size)
        try:
            with unit_of_work(engine) as session:
                load_regions(session, village_provinces=tuple(village_provinces))
                if blank_locations:
                    contracts.ensure_locations(session)
            yield engine
        finally:
            engine.dispose()
    finally:
        drop_database(POSTGRES_URL, name)


def create_database(base_url: str, prefix: str) -> tuple[str, str]:
    """A new, empty database on ``base_url``'s server: (its URL, its name)."""
    url = make_url(normalise_url(base_url))
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return url.set(database=name).render_as_string(hide_password=False), name


def drop_database(base_url: str, name: str) -> None:
    admin = create_engine(make_url(normalise_url(base_url)), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
