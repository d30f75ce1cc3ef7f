"""The web shell: server-rendered pages for operators (not under ``/api``), one base layout, and the
registry of navigation items that every capability appends its screens to.

How a page is built
-------------------
A page module has an ``APIRouter`` made by :func:`ektp.web.shell.page_router` (its routes render
HTML, and every domain error they raise becomes the error page in the user's language) and
handlers that take a :class:`ektp.web.shell.PageContext` from one of the dependencies
``UserPage`` (logged in; otherwise a redirect to ``/login``), ``AnyPage`` (logged in or not) or
``Depends(page_requiring(Permission.X))`` (logged in *and* allowed)::

    from typing import Annotated
    from fastapi import Depends
    from ektp.auth.permissions import Permission
    from ektp.web.i18n import N_
    from ektp.web.pages import NavItem
    from ektp.web.shell import PageContext, page_requiring, page_router

    router = page_router()
    nav_items = (NavItem(key="blanko", label=N_("Blanks"), href="/blanko",
                         permission=Permission.BLANKO_READ, order=40),)

    @router.get("/blanko")
    def stock(page: Annotated[PageContext, Depends(page_requiring(Permission.BLANKO_READ))]):
        return page.render("blanko/stock.html", section="blanko", rows=...)

Service calls take ``page.session`` and ``page.principal``; a form that writes posts its
``csrf_token`` field (``{{ csrf_field() }}`` in a template) and the handler calls
``page.check_csrf(form)`` first.

Where page modules live
-----------------------
``include_pages`` includes the shell's own modules (:data:`CORE_PAGE_MODULES`) and then every
``ektp.<domain>.pages`` module that exists (enrollment, printing, blanko, ... add theirs there and
need touch nothing here). Each contributes its ``router`` and, if it has one, its ``nav_items``;
:func:`register_nav` adds an item from anywhere else.

Templates live under ``src/ektp/web/templates/`` (``{% extends "layout.html" %}``; a domain puts
its own in a sub-folder named after it, or registers another folder with
:func:`ektp.web.shell.register_template_dir`). Strings are English msgids translated through
``src/ektp/web/locales`` (see :mod:`ektp.web.i18n` for how to add one).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from ektp.auth.permissions import Permission, Principal

#: The shell's own page modules, included before any domain's.
CORE_PAGE_MODULES: tuple[str, ...] = ("ektp.web.account", "ektp.web.home", "ektp.web.residents")


@dataclass(frozen=True)
class NavItem:
    """One entry of the main navigation.

    ``label`` is an English msgid marked with ``N_()`` (translated when the layout is rendered);
    ``permission`` is what a user needs to see the entry (``None``: every logged-in user);
    entries are shown in ascending ``order``, then ``key``. ``key`` is unique and is also the
    ``section`` a page passes to ``render`` to mark its entry as the current one."""

    key: str
    label: str
    href: str
    permission: Permission | None = None
    order: int = 100

    def visible_to(self, principal: Principal) -> bool:
        return self.permission is None or principal.can(self.permission)


_NAV: dict[str, NavItem] = {}


def register_nav(item: NavItem) -> NavItem:
    """Adds ``item`` to the navigation. Registering the same item again is harmless; another item
    under a key already taken is refused."""
    existing = _NAV.get(item.key)
    if existing is not None and existing != item:
        raise ValueError(f"nav key {item.key!r} is already registered for {existing.href!r}")
    _NAV[item.key] = item
    return item


def nav_items() -> list[NavItem]:
    """Every registered item, in display order."""
    return sorted(_NAV.values(), key=lambda item: (item.order, item.key))


def nav_for(principal: Principal | None) -> list[NavItem]:
    """The items ``principal`` may see (none for an anonymous visitor)."""
    if principal is None:
        return []
    return [item for item in nav_items() if item.visible_to(principal)]


def page_modules() -> list[ModuleType]:
    """The shell's page modules, then each domain's ``ektp.<domain>.pages``, in name order."""
    import ektp

    modules = [importlib.import_module(name) for name in CORE_PAGE_MODULES]
    for info in sorted(pkgutil.iter_modules(ektp.__path__), key=lambda info: info.name):
        if not info.ispkg or info.name == "web":
            continue
        # Looked up on disk first, so that domains without pages (and their heavy imports, such
        # as the biometric engine's) are not imported by the web app.
        if any(
            (Path(root) / info.name / candidate).is_file()
            for root in ektp.__path__
            for candidate in ("pages.py", "pages/__init__.py")
        ):
            modules.append(importlib.import_module(f"ektp.{info.name}.pages"))
    return modules


def include_pages(app: FastAPI) -> None:
    """Mounts the static files at ``/static`` and includes every page router (called once by
    ``ektp.routes.include_routes``)."""
    from ektp.web.shell import STATIC_DIR

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for module in page_modules():
        router = getattr(module, "router", None)
        if not isinstance(router, APIRouter):
            raise TypeError(f"{module.__name__} has no APIRouter named 'router'")
        items: Iterable[NavItem] = getattr(module, "nav_items", ())
        for item in items:
            register_nav(item)
        app.include_router(router)
