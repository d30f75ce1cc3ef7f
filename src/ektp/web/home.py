"""The home page after login: who and where the user is, and the screens they may open."""

from __future__ import annotations

from fastapi.responses import Response

from ektp.web.i18n import N_
from ektp.web.pages import NavItem, nav_for
from ektp.web.shell import UserPage, page_router

router = page_router()

nav_items = (NavItem(key="home", label=N_("Home"), href="/", order=0),)


@router.get("/")
def home(page: UserPage) -> Response:
    shortcuts = [item for item in nav_for(page.user_principal) if item.key != "home"]
    return page.render("home.html", section="home", shortcuts=shortcuts)
