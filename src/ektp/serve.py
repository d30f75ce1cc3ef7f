"""``ektp serve`` and ``ektp demo``."""

from __future__ import annotations

import typer


def register_serve_commands(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
        """Serve the web application and API."""
        import uvicorn

        from ektp.app import create_app

        uvicorn.run(create_app(), host=host, port=port)
