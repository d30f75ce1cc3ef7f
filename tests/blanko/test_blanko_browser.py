"""Browser test of the request → allocation → delivery round trip: Playwright driving the system
Chromium against a real server on a committed SQLite database (the pattern of
``tests/web/test_browser.py``): a regional operator requests and submits, central logistics runs
an allocation, approves it, releases and ships, the operator confirms the proof of delivery and
the stock card shows the blanks received."""

from __future__ import annotations

import datetime as dt
import re
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
CENTRAL_STOCK = 1500


def _seed(url: str) -> None:
    from ektp.auth.permissions import SYSTEM, Role
    from ektp.blanko.contracts import (
        DeliveryLine,
        create_contract,
        ensure_locations,
        get_or_create_supplier,
        receive_lot,
    )
    from ektp.db.engine import make_engine
    from ektp.db.session import unit_of_work
    from ektp.regions.service import load_regions
    from tests.factories.auth import make_user

    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            load_regions(session, village_provinces=())
        with unit_of_work(engine) as session:
            ensure_locations(session)
            supplier = get_or_create_supplier(session, name="PT Blanko Browser", actor=SYSTEM)
            contract = create_contract(
                session,
                number="BROWSER-2017-01",
                signed_on=dt.date(2017, 1, 2),
                supplier=supplier,
                quantity=CENTRAL_STOCK,
                unit_price_rupiah=9547,
                deliveries=[DeliveryLine(due_on=dt.date(2017, 1, 9), quantity=CENTRAL_STOCK)],
                actor=SYSTEM,
            )
            receive_lot(
                session,
                contract=contract,
                lot_no="B1",
                received_on=dt.date(2017, 1, 10),
                quantity=CENTRAL_STOCK,
                serial_from=900_000_000,
                actor=SYSTEM,
            )
            make_user(
                session,
                role=Role.REGIONAL_OPERATOR,
                region_code="32.04",
                username="operator.bdg",
                password=PASSWORD,
            )
            make_user(session, role=Role.CENTRAL_LOGISTICS, username="logistik.pusat", password=PASSWORD)
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    from ektp.db.migrate import upgrade

    directory: Path = tmp_path_factory.mktemp("blanko-browser")
    url = f"sqlite:///{directory / 'ektp-blanko.sqlite3'}"
    upgrade(url)
    _seed(url)
    with serve_app(url, directory) as base_url:
        yield base_url


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


class TestRequestAllocationDelivery:
    def test_round_trip(self, browser: object, live_site: str) -> None:
        operator = _tab(browser, live_site)
        logistics = _tab(browser, live_site)
        try:
            # 1. The regional operator asks for 1,000 blanks and submits.
            _log_in(operator, "operator.bdg")
            operator.get_by_role("navigation", name="Main menu").get_by_role(
                "link", name="Blank requests"
            ).click()
            form = operator.get_by_test_id("new-request")
            form.get_by_label("Blanks requested").fill("1000")
            form.get_by_label("Justification").fill("Stok habis minggu depan")
            form.get_by_role("button", name="Save and submit").click()
            expect(operator.get_by_test_id("status")).to_have_text("Submitted")
            request_url = operator.url
            number = re.search(
                r"Request (RQ-\d{4}-\d{6})", operator.get_by_role("heading", level=1).inner_text()
            )
            assert number is not None

            # 2. Central logistics runs an allocation, sorts it, approves it, releases and ships.
            _log_in(logistics, "logistik.pusat")
            logistics.get_by_role("navigation", name="Main menu").get_by_role(
                "link", name="Allocation runs"
            ).click()
            expect(logistics.get_by_test_id("queue-count")).to_have_text("1")
            logistics.get_by_role("button", name="Compute proposal").click()
            expect(logistics.get_by_test_id("run-status")).to_have_text("Proposed")
            row = logistics.get_by_test_id("proposal").locator('tr[data-region="32.04"]')
            expect(row.get_by_test_id("allocated")).to_have_text("1,000")
            logistics.locator('a[data-sort="allocated"]').click()
            expect(logistics).to_have_url(re.compile(r"sort=allocated&dir=asc"))
            logistics.get_by_role("button", name="Approve this allocation").click()
            expect(logistics.get_by_test_id("run-status")).to_have_text("Approved")
            logistics.get_by_test_id("approved-requests").get_by_role("link", name=number.group(1)).click()
            expect(logistics.get_by_test_id("approved")).to_have_text("1,000")
            logistics.get_by_role("button", name="Release").click()
            expect(logistics.get_by_test_id("status")).to_have_text("Released")
            logistics.get_by_label("Carrier or collector").fill("Pos Indonesia")
            logistics.get_by_role("button", name="Record dispatch").click()
            expect(logistics.get_by_test_id("status")).to_have_text("Shipped")

            # 3. The operator confirms the proof of delivery; the stock card shows the blanks.
            operator.goto(request_url)
            pod = operator.get_by_test_id("pod-form")
            expect(pod.get_by_label("Accepted")).to_have_value("1000")
            pod.get_by_label("Received by").fill("Dedi Supriadi")
            pod.get_by_role("button", name="Confirm receipt").click()
            expect(operator.get_by_test_id("status")).to_have_text("Received")
            expect(operator.get_by_test_id("pod")).to_contain_text("Dedi Supriadi")
            operator.get_by_role("navigation", name="Main menu").get_by_role(
                "link", name="Blank stock"
            ).click()
            expect(operator.get_by_test_id("balance")).to_have_text("1,000")
            movements = operator.get_by_test_id("movements")
            expect(movements).to_contain_text(number.group(1))
            expect(movements).to_contain_text("Receipt")

            # The same screen in Indonesian.
            operator.get_by_test_id("lang-id").click()
            expect(operator.get_by_role("heading", level=1)).to_contain_text("Kartu stok")
        finally:
            operator.context.close()
            logistics.context.close()
