"""Browser tests: Playwright driving the system Chromium (``/usr/bin/chromium``, Debian packages
``chromium`` and ``chromium-driver``; no browser is ever downloaded) against a real server.

The server is uvicorn in a background thread on a free localhost port, serving
``create_app(Settings(database_url=<a temporary SQLite file>))``; the database is built by the
migrations and seeded (regions of province 32, one user per role of interest, a few residents)
and committed, as ``make demo`` would, not the rolled-back ``session`` of the other tests."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser_check import CHROMIUM, chromium_available
from tests.live_server import CHROMIUM_ARGS, serve_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.skipif(
        not chromium_available(),
        reason=f"{CHROMIUM} not found — install Debian packages chromium and chromium-driver",
    ),
]

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect
Page = playwright_api.Page

PASSWORD = "browser-test-password"


@dataclass(frozen=True)
class LiveSite:
    base_url: str
    #: Residents of Kabupaten Bandung (32.04) and of Kota Bandung (32.73).
    bandung_nik: str
    bandung_name: str
    kota_bandung_nik: str


def _seed(url: str) -> tuple[str, str, str]:
    from ektp.auth.permissions import Role
    from ektp.db.engine import make_engine
    from ektp.db.session import unit_of_work
    from ektp.regions.service import load_regions
    from tests.factories.auth import make_user
    from tests.factories.population import OTHER_REGENCY_VILLAGE, make_family, make_resident

    engine = make_engine(url)
    try:
        with unit_of_work(engine) as session:
            load_regions(session, village_provinces=("32",))
        with unit_of_work(engine) as session:
            make_user(
                session,
                role=Role.REGIONAL_OPERATOR,
                region_code="32.04",
                username="operator.bdg",
                password=PASSWORD,
            )
            make_user(session, role=Role.CENTRAL_ADMIN, username="admin.pusat", password=PASSWORD)
            siti = make_resident(session, name="SITI NURHALIZA", sex="P", birth_date=dt.date(1990, 5, 17))
            make_family(session, head=make_resident(session, name="AHMAD SITI SUDRAJAT"))
            make_resident(session, name="AGUS SALIM", birth_date=dt.date(1975, 12, 31))
            elsewhere = make_resident(
                session, name="SITI AMINAH", sex="P", village_code=OTHER_REGENCY_VILLAGE
            )
            return siti.nik, siti.full_name, elsewhere.nik
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def live_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    from ektp.db.migrate import upgrade

    directory: Path = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{directory / 'ektp-browser.sqlite3'}"
    upgrade(url)
    bandung_nik, bandung_name, kota_nik = _seed(url)
    with serve_app(url, directory) as base_url:
        yield LiveSite(base_url, bandung_nik, bandung_name, kota_nik)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: object, live_site: LiveSite) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test. The browser announces English, so the
    Indonesian default is really the service's choice."""
    context = browser.new_context(base_url=live_site.base_url, locale="en-US")  # type: ignore[attr-defined]
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def _log_in(page: Page, username: str, *, button: str = "Masuk") -> None:
    page.goto("/login")
    page.get_by_label(re.compile("Nama pengguna|Username")).fill(username)
    page.get_by_label(re.compile("Kata sandi|Password")).fill(PASSWORD)
    page.get_by_role("button", name=button, exact=True).click()


class TestLogin:
    def test_in_indonesian_by_default(self, page: Page) -> None:
        page.goto("/")
        expect(page).to_have_url(re.compile(r"/login$"))
        expect(page.locator("html")).to_have_attribute("lang", "id")
        expect(page.get_by_role("heading", level=1)).to_have_text("Masuk")
        _log_in(page, "operator.bdg")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang")
        nav = page.get_by_role("navigation", name="Menu utama")
        expect(nav.get_by_role("link", name="Penduduk", exact=True)).to_be_visible()
        expect(page.get_by_test_id("who")).to_contain_text("Operator daerah")
        expect(page.get_by_role("button", name="Keluar")).to_be_visible()

    def test_in_english_after_switching(self, page: Page) -> None:
        page.goto("/login")
        expect(page.get_by_role("heading", level=1)).to_have_text("Masuk")
        page.get_by_test_id("lang-en").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
        expect(page.locator("html")).to_have_attribute("lang", "en")
        _log_in(page, "operator.bdg", button="Log in")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
        expect(
            page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Residents", exact=True)
        ).to_be_visible()
        expect(page.get_by_role("button", name="Log out")).to_be_visible()
        page.get_by_test_id("lang-id").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang")

    def test_wrong_password_is_refused_in_the_page_language(self, page: Page) -> None:
        page.goto("/login")
        page.get_by_label("Nama pengguna").fill("operator.bdg")
        page.get_by_label("Kata sandi").fill("wrong-password-1")
        page.get_by_role("button", name="Masuk", exact=True).click()
        expect(page.get_by_role("alert")).to_contain_text("Nama pengguna atau kata sandi salah")


class TestResidentSearch:
    def test_shows_results_with_locale_dates_and_opens_a_resident(
        self, page: Page, live_site: LiveSite
    ) -> None:
        _log_in(page, "operator.bdg")
        page.get_by_role("navigation", name="Menu utama").get_by_role(
            "link", name="Penduduk", exact=True
        ).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Cari penduduk")
        page.get_by_label("Nama", exact=True).fill("siti")
        page.get_by_test_id("search-submit").click()
        results = page.get_by_test_id("results")
        expect(results).to_contain_text(live_site.bandung_nik)
        expect(results).to_contain_text("17 Mei 1990")
        expect(results).not_to_contain_text(live_site.kota_bandung_nik)
        page.get_by_role("link", name=live_site.bandung_nik).click()
        expect(page.get_by_role("heading", level=1)).to_contain_text(live_site.bandung_name)
        expect(page.get_by_test_id("biodata")).to_contain_text("Perempuan")

    def test_region_choice_refreshes_with_javascript(self, page: Page) -> None:
        _log_in(page, "admin.pusat")
        page.goto("/residents")
        page.get_by_label("Provinsi").select_option("32")
        expect(page.get_by_label("Kabupaten/kota")).to_be_visible()
        page.get_by_label("Kabupaten/kota").select_option("32.04")
        page.get_by_label("Kecamatan").select_option("32.04.05")
        expect(page.get_by_label("Desa/kelurahan")).to_contain_text("CILEUNYI KULON", ignore_case=True)


class TestRefusedAccess:
    def test_other_regions_resident_shows_the_403_page_in_the_current_language(
        self, page: Page, live_site: LiveSite
    ) -> None:
        _log_in(page, "operator.bdg")
        response = page.goto(f"/residents/{live_site.kota_bandung_nik}")
        assert response is not None
        assert response.status == 403
        expect(page.get_by_role("heading", level=1)).to_have_text("Akses ditolak")
        page.get_by_test_id("lang-en").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Access refused")
        expect(page).to_have_url(re.compile(rf"/residents/{live_site.kota_bandung_nik}$"))


class TestRegisterResident:
    def test_errors_next_to_fields_then_success(self, page: Page) -> None:
        _log_in(page, "operator.bdg")
        page.goto("/residents/new")
        page.get_by_label("Nama lengkap").fill("Wulandari")
        page.get_by_label("Tempat lahir").fill("Bandung")
        page.get_by_label("Tanggal lahir").fill("2000-02-29")
        page.get_by_label("Jenis kelamin").select_option("P")
        page.get_by_label("Agama").select_option("ISLAM")
        page.get_by_label("Pekerjaan").fill("Karyawan Swasta")
        page.get_by_label("Alamat (jalan)").fill("Jl. Cibiru 3")
        page.locator("#f-rt").fill("1")
        page.locator("#f-rw").fill("4")
        page.get_by_label("Kecamatan").select_option("32.04.05")
        page.get_by_label("Desa/kelurahan").select_option("32.04.05.2001")
        page.get_by_test_id("create-submit").click()
        expect(page.locator('[data-field-error="full_name"]')).to_have_text("Tulis paling sedikit dua kata.")
        page.get_by_label("Nama lengkap").fill("Wulandari Putri")
        page.get_by_test_id("create-submit").click()
        expect(page.get_by_role("status")).to_have_text("Penduduk telah didaftarkan.")
        expect(page.get_by_role("heading", level=1)).to_contain_text("WULANDARI PUTRI")
        expect(page.get_by_test_id("biodata")).to_contain_text("29 Februari 2000")


class TestLogout:
    def test_ends_the_session(self, page: Page) -> None:
        _log_in(page, "operator.bdg")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Selamat datang")
        page.get_by_role("button", name="Keluar").click()
        expect(page.get_by_role("status")).to_have_text("Anda telah keluar.")
        page.goto("/residents")
        expect(page).to_have_url(re.compile(r"/login\?next=%2Fresidents$"))
