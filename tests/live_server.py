"""What the browser tests share: the system Chromium's launch arguments and the application
served by uvicorn in a background thread, on a free localhost port, over a real SQLite file that
the caller has migrated and seeded (committed data, not the rolled-back ``session`` fixture)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.browser_check import CHROMIUM, chromium_available

#: The marks of a browser test module (``pytestmark = BROWSER_MARKS``): skipped, loudly named,
#: where the system Chromium is missing.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not chromium_available(),
        reason=f"{CHROMIUM} not found — install Debian packages chromium and chromium-driver",
    ),
]

#: Chromium as root on a machine without network: no sandbox, no GPU, no background traffic
#: (without the networking flags Chromium keeps dialling Google's hosts and is refused).
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def serve_app(database_url: str, data_dir: Path) -> Iterator[str]:
    """Serve the application over ``database_url``; yields its base URL."""
    import uvicorn

    from ektp.app import create_app
    from ektp.config import Settings

    app = create_app(
        Settings(
            database_url=database_url,
            data_dir=data_dir,
            secret_key="browser-test-secret-0123456789abcdef",
            allow_synthetic_capture=True,
        )
    )
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        listener.close()
