"""Browser test of a recording reaching its decision: Playwright driving the system Chromium
against a real server on a committed SQLite database (the pattern of
``tests/blanko/test_blanko_browser.py``). An operator records a resident with a synthetic capture
through the enrollment form and sends it for enrollment; a dedup worker (called between the
steps, as the demo's background thread would run it) decides; the recording page shows the
PRINT_READY_RECORD status and the queue screen counts the decision."""

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


def _seed(url: str) -> tuple[str, int]:
    from ektp.auth.permissions import Role
    from ektp.db.engine import make_engine
    from ektp.db.session import unit_of_work
    from ektp.regions.service import load_regions
    from tests.factories.auth import make_user
    from tests.factories.enrollment import make_service_point
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
                username="rekam.dedup",
                password=PASSWORD,
            )
            resident = make_resident(session)
            point = make_service_point(session, region_code=resident.regency_code, code="32.04-DEDUP-B")
            return resident.nik, point.id
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, int, str, Path]]:
    from ektp.db.migrate import upgrade

    directory: Path = tmp_path_factory.mktemp("dedup-browser")
    url = f"sqlite:///{directory / 'ektp-dedup.sqlite3'}"
    upgrade(url)
    nik, point_id = _seed(url)
    with serve_app(url, directory) as base_url:
        yield base_url, nik, point_id, url, directory


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


def _run_worker(url: str, directory: Path) -> int:
    from ektp.db.engine import make_engine
    from ektp.dedup.matcher import DedupMatcher
    from ektp.dedup.worker import Worker

    engine = make_engine(url)
    matcher = DedupMatcher.open(directory / "gallery")
    try:
        return Worker(engine, matcher, batch=10).run(once=True).decided
    finally:
        matcher.close()
        engine.dispose()


def test_recording_reaches_print_ready(browser: object, live_site: tuple[str, str, int, str, Path]) -> None:
    base_url, nik, point_id, url, directory = live_site
    context = browser.new_context(base_url=base_url, locale="en-US")  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    page: Page = context.new_page()
    try:
        page.goto("/login")
        page.get_by_test_id("lang-en").click()
        page.get_by_label("Username").fill("rekam.dedup")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

        page.goto(f"/enrollment/record?point={point_id}")
        form = page.get_by_test_id("record-form")
        form.locator("#f-nik").fill(nik)
        form.locator('input[name="source"][value="synthetic"]').check()
        form.locator("#f-identity_key").fill("4242")
        form.locator("#f-capture_no").fill("0")
        form.get_by_role("button", name="Record and send for enrollment").click()
        status = page.get_by_test_id("status")
        expect(status).to_have_attribute("data-status", "SENT_FOR_ENROLLMENT")
        expect(page.get_by_test_id("time-to-decision")).to_have_text("Not decided yet")

        page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Dedup queue").click()
        expect(page.get_by_test_id("depth-WAITING")).to_have_text("1")
        page.go_back()

        assert _run_worker(url, directory) == 1

        page.reload()
        expect(page.get_by_test_id("status")).to_have_attribute("data-status", "PRINT_READY_RECORD")
        expect(page.get_by_test_id("history").locator("tbody tr")).to_have_count(3)
        expect(page.get_by_test_id("time-to-decision")).not_to_have_text("Not decided yet")

        page.goto("/dedup")
        expect(page.get_by_test_id("depth-DONE")).to_have_text("1")
        expect(page.get_by_test_id("today-PRINT_READY_RECORD")).to_have_text("1")
    finally:
        context.close()
