"""Browser test of a recording through the operator's form: Playwright driving the system Chromium
against a real server on a committed SQLite database (the pattern of ``tests/web/test_browser.py``).
An operator opens Enrollment, creates an office, records a resident by uploading a CBEFF file with
"record and send", sees the recording's history, and the office's day counts it."""

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
    from ektp.db.engine import make_engine
    from ektp.db.session import unit_of_work
    from ektp.regions.service import load_regions
    from tests.factories.auth import make_user
    from tests.factories.population import make_resident

    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            load_regions(session, village_provinces=("32",))
        with unit_of_work(engine) as session:
            make_user(
                session,
                role=Role.REGIONAL_OPERATOR,
                region_code="32.04",
                username="rekam.bdg",
                password=PASSWORD,
            )
            nik = make_resident(session).nik
    finally:
        engine.dispose()
    return nik


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Path]]:
    from ektp.db.migrate import upgrade

    directory: Path = tmp_path_factory.mktemp("enrollment-browser")
    url = f"sqlite:///{directory / 'ektp-enrollment.sqlite3'}"
    upgrade(url)
    nik = _seed(url)
    with serve_app(url, directory) as base_url:
        yield base_url, nik, directory


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def test_operator_records_and_sends_a_resident(
    browser: object, live_site: tuple[str, str, Path], cbeff: bytes
) -> None:
    base_url, nik, directory = live_site
    capture_file = directory / "capture.xml"
    capture_file.write_bytes(cbeff)
    context = browser.new_context(base_url=base_url, locale="en-US")  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page: Page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_test_id("lang-en").click()
        page.get_by_label("Username").fill("rekam.bdg")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

        page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Enrollment").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Service points")
        form = page.get_by_test_id("new-point")
        form.locator("#f-code").fill("32.04-DISDUK-B")
        form.locator("#f-name").fill("Disdukcapil Kab. Bandung")
        form.locator("#f-region_code").fill("32.04")
        form.locator("#f-place").fill("Soreang")
        form.locator("#f-daily_capacity").fill("120")
        form.get_by_role("button", name="Save").click()
        expect(page.get_by_test_id("day-counts")).to_contain_text("0 of 120")

        page.get_by_role("link", name="Record a resident here").click()
        record = page.get_by_test_id("record-form")
        record.locator("#f-nik").fill(nik)
        record.locator('input[name="capture_file"]').set_input_files(str(capture_file))
        record.get_by_role("button", name="Record and send for enrollment").click()
        expect(page.get_by_test_id("status")).to_have_text("Sent for enrollment")
        expect(page.get_by_test_id("history").locator("tbody tr")).to_have_count(2)
        expect(page.get_by_test_id("time-to-decision")).to_have_text("Not decided yet")

        page.get_by_role("link", name="32.04-DISDUK-B — Disdukcapil Kab. Bandung").click()
        expect(page.get_by_test_id("day-counts")).to_contain_text("1 of 120")
        expect(page.get_by_test_id("recordings")).to_contain_text(nik)
    finally:
        context.close()
