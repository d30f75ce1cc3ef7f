"""Browser test of a two-examiner adjudication: Playwright driving the system Chromium against a
real server on a committed SQLite database (the pattern of ``tests/blanko/test_blanko_browser.py``):
examiner A declares the duplicate, is refused when confirming it himself, examiner B confirms; the
recording shows DUPLICATE_RECORD and a duplicate case exists, which B then resolves."""

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


def _seed(url: str) -> int:
    from ektp.auth.permissions import Role
    from ektp.db.engine import make_engine
    from ektp.db.session import unit_of_work
    from ektp.regions.service import load_regions
    from tests.adjudication.helpers import make_pair
    from tests.factories.auth import make_user

    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            load_regions(session, village_provinces=("32",))
        with unit_of_work(engine) as session:
            pair = make_pair(session)
            make_user(
                session, role=Role.EXAMINER, region_code="32.04", username="examiner.a", password=PASSWORD
            )
            make_user(
                session, role=Role.EXAMINER, region_code="32.04", username="examiner.b", password=PASSWORD
            )
            return pair.later.id
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    from ektp.db.migrate import upgrade

    directory: Path = tmp_path_factory.mktemp("adjudication-browser")
    url = f"sqlite:///{directory / 'ektp-adjudication.sqlite3'}"
    upgrade(url)
    recording = _seed(url)
    with serve_app(url, directory) as base_url:
        yield base_url, recording


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _tab(browser: object, base_url: str) -> Page:
    context = browser.new_context(base_url=base_url, locale="en-US")  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    tab: Page = context.new_page()
    return tab


def _log_in(page: Page, username: str) -> None:
    page.goto("/login")
    page.get_by_test_id("lang-en").click()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")


class TestTwoExaminerAdjudication:
    def test_declare_confirm_resolve(self, browser: object, live_site: tuple[str, int]) -> None:
        base_url, recording = live_site
        a = _tab(browser, base_url)
        b = _tab(browser, base_url)
        try:
            # 1. Examiner A opens the queue, the case, and declares a duplicate.
            _log_in(a, "examiner.a")
            a.get_by_role("navigation", name="Main menu").get_by_role("link", name="Adjudication").click()
            expect(a.get_by_test_id("queue-count")).to_have_text("1")
            a.get_by_role("link", name=f"#{recording}").click()
            expect(a.get_by_test_id("finger-scores")).to_contain_text("RIGHT_THUMB")
            a.get_by_role("button", name="Declare duplicate").click()
            expect(a.get_by_test_id("round-state")).to_have_attribute("data-state", "pending")
            expect(a.get_by_test_id("own-declaration")).to_be_visible()
            # A cannot confirm his own declaration: the form offers it, the service refuses it.
            a.get_by_role("button", name="Confirm duplicate").click()
            expect(a.locator(".error-summary")).to_contain_text("second, different examiner")
            expect(a.get_by_test_id("status")).to_have_attribute("data-status", "ADJUDICATE_RECORD")

            # 2. Examiner B confirms: DUPLICATE_RECORD and a duplicate case.
            _log_in(b, "examiner.b")
            b.goto(f"/adjudication/{recording}")
            b.get_by_role("button", name="Confirm duplicate").click()
            expect(b.get_by_test_id("status")).to_have_attribute("data-status", "DUPLICATE_RECORD")
            expect(b.get_by_test_id("actions")).to_contain_text("examiner.a")
            expect(b.get_by_test_id("actions")).to_contain_text("examiner.b")
            b.get_by_test_id("case-link").get_by_role("link").click()
            expect(b.get_by_test_id("case-status")).to_have_attribute("data-status", "OPEN")

            # 3. B resolves it: the first-recorded NIK is kept, this recording removed.
            form = b.get_by_test_id("resolution-form")
            form.get_by_label("Reason").fill("second NIK issued after a move")
            form.get_by_label("Consent given by").fill("SITI AMINAH")
            form.get_by_label("Consent document or reference").fill("SP-2026/11/0042")
            form.get_by_role("button", name="Resolve").click()
            expect(b.get_by_test_id("case-status")).to_have_attribute("data-status", "RESOLVED")
            expect(b.get_by_test_id("status")).to_have_attribute("data-status", "REMOVED")
            expect(b.get_by_test_id("other-status")).to_have_attribute("data-status", "PRINT_READY_RECORD")

            # The duplicate case list shows it resolved.
            b.get_by_role("navigation", name="Main menu").get_by_role("link", name="Duplicate cases").click()
            expect(b.locator(f'tr[data-enrollment="{recording}"]')).to_have_attribute(
                "data-case-status", "RESOLVED"
            )
        finally:
            a.context.close()
            b.context.close()
