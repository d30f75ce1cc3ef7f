"""Units of work. Services never commit; the edge (an HTTP request, a CLI command, a job) owns
one transaction and commits it or rolls it back as a whole."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from ektp.db.engine import READ_ONLY_OPTION


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(engine: Engine, *, read_only: bool = False) -> Iterator[Session]:
    """One transaction: committed if the block finishes, rolled back if it raises.

    ``read_only``: a transaction that only reads, never committed. On SQLite it takes no write
    lock (a plain ``BEGIN``, not ``BEGIN IMMEDIATE``), so readers in several threads do not queue
    behind each other or behind a writer; on PostgreSQL it is an ordinary transaction."""
    bind = engine.execution_options(**{READ_ONLY_OPTION: True}) if read_only else engine
    factory = make_sessionmaker(bind)
    session = factory()
    try:
        yield session
        if not read_only:
            session.commit()
        # a read-only one ends at close(): the connection's transaction is rolled back when it
        # goes back to the pool, and the objects read keep their loaded state (a rollback would
        # expire them)
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
