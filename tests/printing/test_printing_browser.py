"""Browser test of printing: Playwright driving the system Chromium against a real server on a
committed SQLite database (the pattern of ``tests/blanko/test_blanko_browser.py``): a regional
operator opens the print queue, prints the waiting resident's card and sees it printed, then
issues it."""

from __future__ import annotations

import datetime as dt
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


def _seed(url: str) -> tuple[int, str]:
    from ektp.auth.permissions import Role
    from ektp.db.engine import make_engine
    from ektp.db.session import unit_of_work
    from ektp.models.enrollment import EnrollmentStatus
    from ektp.regions.service import load_regions
    from tests.factories.auth import make_user
    from tests.factories.blanko import make_lot_at
    from tests.factories.enrollment import make_enrollment
    from tests.factories.population import make_resident

    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            load_regions(session, village_provinces=("32",))
        with unit_of_work(engine) as session:
            make_lot_at(session, "REG:32.04", quantity=5, business_date=dt.date(2017, 1, 16))
            resident = make_resident(session, name="SRI WAHYUNI")
            enrollment = make_enrollment(session, resident, status=EnrollmentStatus.PRINT_READY_RECORD)
            make_user(
                session,
                role=Role.REGIONAL_OPERATOR,
                region_code="32.04",
                username="printer.bdg",
                password=PASSWORD,
            )
            return enrollment.id, resident.nik
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, str]]:
    from ektp.db.migrate import upgrade

    directory: Path = tmp_path_factory.mktemp("printing-browser")
    url = f"sqlite:///{directory / 'ektp-printing.sqlite3'}"
    upgrade(url)
    enrollment_id, nik = _seed(url)
    with serve_app(url, directory) as base_url:
        yield base_url, enrollment_id, nik


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_operator_prints_a_card_from_the_queue(browser: object, live_site: tuple[str, int, str]) -> None:
    base_url, enrollment_id, nik = live_site
    context = browser.new_context(base_url=base_url, locale="en-US")  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page: Page = context.new_page()
    page.goto("/login")
    page.get_by_test_id("lang-en").click()
    page.get_by_label("Username").fill("printer.bdg")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Printing").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Print queue")
    expect(page.get_by_test_id("queue")).to_contain_text("SRI WAHYUNI")
    page.get_by_test_id(f"print-recording-{enrollment_id}").click()
    expect(page.get_by_text("The card has been printed.")).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Printed")
    expect(page.get_by_test_id("nik")).to_have_text(nik)
    page.get_by_role("button", name="Issue to the resident").click()
    expect(page.get_by_test_id("status")).to_have_text("Issued")
    page.get_by_role("link", name="Back to the print queue").click()
    expect(page.get_by_test_id("stock")).to_have_text("4")
    context.close()
