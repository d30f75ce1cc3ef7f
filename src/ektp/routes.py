"""Every router of the application, in one place. Each domain package has ``endpoints.py`` with an
API ``router``; the web shell has its own page routers.

The domains listed here are included in this order; any other ``ektp.<domain>.endpoints`` module
with a ``router`` (enrollment, dedup, printing, ...) is found on disk and included after them, in
name order, so that a new domain needs to touch nothing here."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from fastapi import APIRouter, FastAPI

API_PREFIX = "/api/v1"

#: Domains whose routers ``include_routes`` names itself (the others are discovered).
_LISTED_DOMAINS = frozenset({"audit", "auth", "blanko", "population", "regions", "web"})


def discovered_routers() -> list[APIRouter]:
    """The ``router`` of every ``ektp.<domain>.endpoints`` not listed above, in domain name order."""
    import ektp

    routers: list[APIRouter] = []
    for info in sorted(pkgutil.iter_modules(ektp.__path__), key=lambda info: info.name):
        if not info.ispkg or info.name in _LISTED_DOMAINS:
            continue
        if not any((Path(root) / info.name / "endpoints.py").is_file() for root in ektp.__path__):
            continue
        module = importlib.import_module(f"ektp.{info.name}.endpoints")
        router = getattr(module, "router", None)
        if isinstance(router, APIRouter):
            routers.append(router)
    return routers


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
    for router in discovered_routers():
        app.include_router(router, prefix=API_PREFIX)

    @app.get(f"{API_PREFIX}/health", tags=["health"])
    def health() -> dict[str, str]:
        return {"status": "ok"}

    include_pages(app)
