"""Every router of the application, in one place. Each domain package has ``endpoints.py`` with an
API ``router``; the web shell has its own page routers."""

from __future__ import annotations

from fastapi import FastAPI

API_PREFIX = "/api/v1"


def include_routes(app: FastAPI) -> None:
    from ektp.audit.endpoints import router as audit_router
    from ektp.auth.endpoints import router as auth_router
    from ektp.blanko.endpoints import router as blanko_router
    from ektp.blanko.request_endpoints import router as blanko_requests_router
    from ektp.population.endpoints import router as population_router
    from ektp.regions.endpoints import router as regions_router
    from ektp.web.pages import include_pages

    app.include_router(auth_router, prefix=API_PREFIX)
    app.include_router(audit_router, prefix=API_PREFIX)
    app.include_router(regions_router, prefix=API_PREFIX)
    app.include_router(population_router, prefix=API_PREFIX)
    app.include_router(blanko_router, prefix=API_PREFIX)
    app.include_router(blanko_requests_router, prefix=API_PREFIX)

    @app.get(f"{API_PREFIX}/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    include_pages(app)
