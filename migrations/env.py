"""Alembic environment. The URL comes from ``-x url=...``, the ``sqlalchemy.url`` option set by
``ektp.db.migrate``, or the ektp settings; SQLite runs in batch mode so that ALTERs work."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

import ektp.models  # noqa: F401  (registers every table)
from ektp.config import get_settings
from ektp.db.base import metadata
from ektp.db.engine import make_engine, normalise_url

config = context.config


def _url() -> str:
    x_args = context.get_x_argument(as_dictionary=True)
    return normalise_url(
        x_args.get("url") or config.get_main_option("sqlalchemy.url") or get_settings().database_url
    )


def _configure(connection: Connection | None = None, url: str | None = None) -> None:
    dialect = connection.dialect.name if connection is not None else (url or "").split(":", 1)[0]
    context.configure(
        connection=connection,
        url=url,
        target_metadata=metadata,
        render_as_batch=dialect.startswith("sqlite"),
        compare_type=True,
        literal_binds=connection is None,
    )


def run_migrations_offline() -> None:
    _configure(url=_url())
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            _configure(conn)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
