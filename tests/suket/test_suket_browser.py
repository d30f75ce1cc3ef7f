"""Browser test of issuing a suket when the region's stock is empty: Playwright driving the system
Chromium against a real server on a committed SQLite database (pattern of
``tests/blanko/test_blanko_browser.py``). A PRR resident of Kabupaten Bandung, whose blank stock
is 0, gets a suket; the operator sees it, opens the PDF link and the public verification page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser_check import CHROMIUM
from tests.live_server import BROWSER_MARKS, CHROMIUM_ARGS, serve_app

pytestmark = BROWSER_MARKS

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
Page = playwright_api.Page

PASSWORD = "browser-test-password"


def _seed(url: str) -> str:
    from ektp.auth.permissions import Role
    from ektp.blanko.contracts import ensure_locations
    from ektp.db.engine import make_engine
    from ektp.db.session import unit_of_work
    from ektp.models.enrollment import EnrollmentStatus
    from ektp.regions.service import load_regions
    from tests.factories.auth import make_user
    from tests.factories.enrollment import make_enrollment
    from tests.factories.population import make_resident

    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            load_regions(session, village_provinces=("32",))
        with unit_of_work(engine) as session:
            ensure_locations(session)  # REG:32.04 exists and holds no blank
            resident = make_resident(session, name="SITI AMINAH")
            make_enrollment(session, resident, status=EnrollmentStatus.PRINT_READY_RECORD)
            nik = resident.nik
            make_user(
                session,
                role=Role.REGIONAL_OPERATOR,
                region_code="32.04",
                username="operator.suket",
                password=PASSWORD,
            )
        return nik
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from ektp.db.migrate import upgrade

    directory: Path = tmp_path_factory.mktemp("suket-browser")
    url = f"sqlite:///{directory / 'ektp-suket.sqlite3'}"
    upgrade(url)
    nik = _seed(url)
    with serve_app(url, directory) as base_url:
        yield base_url, nik


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_issue_suket_when_stock_is_empty(browser: object, live_site: tuple[str, str]) -> None:
    base_url, nik = live_site
    context = browser.new_context(base_url=base_url, locale="en-US")  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page: Page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_test_id("lang-en").click()
        page.get_by_label("Username").fill("operator.suket")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

        page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Sukets").click()
        form = page.get_by_test_id("issue-suket")
        form.get_by_label("NIK").fill(nik)
        form.get_by_role("button", name="Issue suket").click()
        expect(page.get_by_test_id("status")).to_have_text("Valid")
        expect(page.get_by_test_id("number")).to_contain_text("SKT/32.04/")
        expect(page.get_by_test_id("suket")).to_contain_text("SITI AMINAH")
        expect(page.get_by_test_id("suket")).to_contain_text("No blank in stock")

        pdf_href = page.get_by_test_id("pdf-link").get_attribute("href")
        assert pdf_href is not None
        response = page.request.get(pdf_href)
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"
        assert response.body().startswith(b"%PDF")

        verify_href = page.get_by_test_id("verify-link").get_attribute("href")
        assert verify_href is not None
        page.goto(verify_href)
        expect(page.get_by_test_id("state")).to_have_text("Valid")
        expect(page.get_by_test_id("public-suket")).to_contain_text("SITI AMINAH")

        page.goto("/sukets")
        expect(page.get_by_test_id("sukets")).to_contain_text(nik)
    finally:
        context.close()
