"""Throw-away PostgreSQL databases and pgbench, shared by the PostgreSQL benchmarks.

A benchmark creates its own database on the server it is given, so that nothing else on the
server is touched, and drops it afterwards (``WITH (FORCE)``: a client process killed mid-run must
not leave it behind). ``run_pgbench`` measures the server's own limit for the same client count in
the same run — the reference the concurrency targets of issues 6 and 7 are ratios against.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from ektp.db.engine import normalise_url


def _admin(url: str) -> Engine:
    return create_engine(make_url(normalise_url(url)), isolation_level="AUTOCOMMIT")


def create_database(base_url: str, prefix: str) -> tuple[str, str]:
    """Create a fresh database next to ``base_url``'s; return its URL and its name."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = _admin(base_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(normalise_url(base_url)).set(database=name).render_as_string(hide_password=False), name


def drop_database(base_url: str, name: str) -> None:
    admin = _admin(base_url)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextmanager
def scratch_database(base_url: str, prefix: str) -> Iterator[str]:
    """A fresh database for the ``with`` block, dropped afterwards whatever happens."""
    url, name = create_database(base_url, prefix)
    try:
        yield url
    finally:
        drop_database(base_url, name)


def pgbench_binary() -> str:
    found = shutil.which("pgbench")
    if found:
        return found
    for version in ("17", "16", "15"):
        candidate = f"/usr/lib/postgresql/{version}/bin/pgbench"
        if os.path.exists(candidate):
            return candidate
    raise SystemExit("pgbench not found: apt-get install -y postgresql-contrib (or postgresql-client)")


def run_pgbench(base_url: str, *, clients: int, seconds: int, scale: int) -> dict[str, Any]:
    """pgbench's built-in TPC-B-like script on its own scratch database of the same server."""
    binary = pgbench_binary()
    parsed = make_url(normalise_url(base_url))
    args = [
        "-h",
        parsed.host or "127.0.0.1",
        "-p",
        str(parsed.port or 5432),
        "-U",
        parsed.username or "postgres",
    ]
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    with scratch_database(base_url, "bench_pgbench") as url:
        name = make_url(url).database or ""
        subprocess.run(
            [binary, *args, "-i", "-s", str(scale), "-q", name], check=True, capture_output=True, env=env
        )
        done = subprocess.run(
            [binary, *args, "-c", str(clients), "-j", "2", "-T", str(seconds), name],
            check=True,
            capture_output=True,
            text=True,
            env=env,
        )
    match = re.search(r"^tps = ([0-9.]+)", done.stdout, re.MULTILINE)
    if match is None:
        raise SystemExit(f"could not find the tps line in pgbench's output:\n{done.stdout}")
    latency = re.search(r"latency average = ([0-9.]+) ms", done.stdout)
    return {
        "tps": float(match.group(1)),
        "latency_ms": float(latency.group(1)) if latency else None,
        "command": f"pgbench -i -s {scale}; pgbench -c {clients} -j 2 -T {seconds}",
    }
