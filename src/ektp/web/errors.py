"""HTML error pages (placeholder until the web shell is built)."""

from fastapi import Request
from fastapi.responses import HTMLResponse, Response


def render_error_page(request: Request, status_code: int, message: str) -> Response:
    from html import escape

    return HTMLResponse(f"<h1>{status_code}</h1><p>{escape(message)}</p>", status_code=status_code)
