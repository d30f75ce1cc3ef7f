"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ektp import __version__
from ektp.config import Settings, get_settings
from ektp.db.engine import make_engine
from ektp.db.session import make_sessionmaker
from ektp.kit.errors import DomainError
from ektp.routes import API_PREFIX

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BodySizeLimit:
    """Refuses request bodies larger than the configured limit with 413, whether or not the client
    announced a Content-Length, before any endpoint sees them."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(self.max_bytes, send)
                return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await _too_large(self.max_bytes, send)


class _BodyTooLarge(Exception):
    pass


async def _too_large(max_bytes: int, send: Send) -> None:
    response = JSONResponse(
        status_code=413,
        content={
            "error": "payload_too_large",
            "message": f"Request body exceeds the limit of {max_bytes} bytes.",
            "problems": [{"field": "body", "rule": "max_bytes", "message": f"at most {max_bytes} bytes"}],
        },
    )
    await send(
        {"type": "http.response.start", "status": response.status_code, "headers": response.raw_headers}
    )
    await send({"type": "http.response.body", "body": response.body})


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get("accept", "")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # A single-node install (and the demo) runs its dedup worker in the web process, so that
        # a recording sent for enrollment reaches its decision with nothing else started.
        worker = None
        if settings.dedup_in_process_worker:
            from ektp.dedup.worker import start_background_worker

            worker = start_background_worker(settings, engine=app.state.engine)
        app.state.dedup_worker = worker
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            app.state.engine.dispose()

    app = FastAPI(
        title="ektp",
        version=__version__,
        description="National identity card programme: register, deduplication, printing, sukets, blanks.",
        lifespan=lifespan,
        docs_url=f"{API_PREFIX}/docs",
        openapi_url=f"{API_PREFIX}/openapi.json",
    )
    # The engine is built here rather than in the lifespan so that an app used without running
    # its lifespan (a test client that is not entered) still has one.
    app.state.settings = settings
    app.state.engine = make_engine(settings.database_url, echo=settings.sql_echo)
    app.state.sessionmaker = make_sessionmaker(app.state.engine)

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        if _wants_html(request):
            from ektp.web.errors import render_error_page

            return render_error_page(request, exc.status_code, str(exc))
        return JSONResponse(status_code=exc.status_code, content=exc.as_dict())

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors():
            location = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "path")]
            problems.append(
                {
                    "field": ".".join(location) or "body",
                    "rule": str(error.get("type", "invalid")),
                    "message": str(error.get("msg", "invalid value")),
                }
            )
        message = "Invalid input: " + "; ".join(f"{p['field']}: {p['message']}" for p in problems)
        if _wants_html(request):
            from ektp.web.errors import render_error_page

            return render_error_page(request, 422, message)
        return JSONResponse(
            status_code=422, content={"error": "validation_failed", "message": message, "problems": problems}
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_html(request):
            from ektp.web.errors import render_error_page

            return render_error_page(request, exc.status_code, str(exc.detail))
        return JSONResponse(
            status_code=exc.status_code,
            content={"error": "http_error", "message": str(exc.detail), "problems": []},
            headers=getattr(exc, "headers", None),
        )

    from ektp.routes import include_routes

    include_routes(app)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_request_body_bytes)
    return app
