"""Message catalogues and locale formatting: every string the shell shows is translated in both
catalogues, the compiled ``.mo`` files match their ``.po`` sources, and dates and numbers follow
the conventions of each language."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from babel.numbers import parse_decimal
from hypothesis import given
from hypothesis import strategies as st

from ektp.web import i18n
from ektp.web.shell import environment

PACKAGE_DIR = Path(i18n.__file__).resolve().parents[1]
BABEL_CFG = PACKAGE_DIR / "web" / "babel.cfg"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _extracted_msgids() -> dict[str, str]:
    """msgid → where it was found, for every string marked in the code and templates."""
    with BABEL_CFG.open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, filename=str(BABEL_CFG))
    found: dict[str, str] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(PACKAGE_DIR), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        msgids = message if isinstance(message, tuple) else (message,)
        for msgid in msgids:
            if msgid:
                found.setdefault(msgid, f"{filename}:{lineno}")
    return found


def _catalog(locale: str) -> Catalog:
    with (i18n.LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        return read_po(po, locale=locale)


def _contents(catalog: Catalog) -> dict[object, object]:
    return {message.id: message.string for message in catalog if message.id}


@pytest.fixture(scope="module")
def extracted() -> dict[str, str]:
    return _extracted_msgids()


class TestCatalogues:
    def test_extraction_finds_the_shell_strings(self, extracted: dict[str, str]) -> None:
        assert "Log in" in extracted
        assert "Wrong username or password, or the account is locked or inactive." in extracted
        assert "Access refused" in extracted, "N_() marked strings are extracted"

    @pytest.mark.parametrize("locale", i18n.SUPPORTED_LOCALES)
    def test_every_used_string_is_translated(self, extracted: dict[str, str], locale: str) -> None:
        catalog = _catalog(locale)
        missing = []
        for msgid, where in sorted(extracted.items()):
            message = catalog.get(msgid)
            strings = message.string if message is not None else None
            if isinstance(strings, tuple):
                strings = "".join(strings) if all(strings) else ""
            if not strings or (message is not None and message.fuzzy):
                missing.append(f"{where}: {msgid!r}")
        assert not missing, f"untranslated in {locale}/messages.po:\n" + "\n".join(missing)

    @pytest.mark.parametrize("locale", i18n.SUPPORTED_LOCALES)
    def test_placeholders_survive_translation(self, locale: str) -> None:
        for message in _catalog(locale):
            if not message.id or isinstance(message.id, tuple):
                continue
            assert sorted(PLACEHOLDER.findall(str(message.string))) == sorted(
                PLACEHOLDER.findall(message.id)
            ), message.id

    @pytest.mark.parametrize("locale", i18n.SUPPORTED_LOCALES)
    def test_compiled_catalogue_is_up_to_date(self, locale: str) -> None:
        compiled = io.BytesIO()
        write_mo(compiled, _catalog(locale))
        compiled.seek(0)
        fresh = _contents(read_mo(compiled))
        with (i18n.LOCALES_DIR / locale / "LC_MESSAGES" / "messages.mo").open("rb") as mo:
            committed = _contents(read_mo(mo))
        assert committed == fresh, f"{locale}/messages.mo is stale: run pybabel compile (see ektp.web.i18n)"

    def test_indonesian_differs_from_english(self) -> None:
        assert i18n.gettext("id", "Log in") == "Masuk"
        assert i18n.gettext("en", "Log in") == "Log in"
        differing = [m.id for m in _catalog("id") if m.id and m.string != m.id]
        assert len(differing) > 20

    def test_unknown_locale_is_refused(self) -> None:
        with pytest.raises(ValueError, match="locale"):
            i18n.translations("fr")


class TestChooseLocale:
    def test_default_is_indonesian(self) -> None:
        assert i18n.choose_locale(cookie=None, user_locale=None, default=None) == "id"

    def test_cookie_beats_user_preference(self) -> None:
        assert i18n.choose_locale(cookie="en", user_locale="id", default="id") == "en"
        assert i18n.choose_locale(cookie="id", user_locale="en", default="id") == "id"

    def test_user_preference_beats_default(self) -> None:
        assert i18n.choose_locale(cookie=None, user_locale="en", default="id") == "en"

    def test_unsupported_values_are_skipped(self) -> None:
        assert i18n.choose_locale(cookie="fr", user_locale="xx", default="en") == "en"

    @pytest.mark.parametrize(
        ("raw", "expected"), [("en-US", "en"), ("EN", "en"), ("id_ID", "id"), ("", None), ("de", None)]
    )
    def test_normalise(self, raw: str, expected: str | None) -> None:
        assert i18n.normalise_locale(raw) == expected


class TestFormatting:
    def test_long_date_in_indonesian(self) -> None:
        assert i18n.format_date(dt.date(2017, 12, 31), "id") == "31 Desember 2017"

    def test_long_date_in_english(self) -> None:
        assert i18n.format_date(dt.date(2017, 12, 31), "en") == "December 31, 2017"

    def test_datetime_is_shown_in_western_indonesia_time(self) -> None:
        late_utc = dt.datetime(2017, 12, 31, 20, 0, tzinfo=dt.UTC)
        assert i18n.format_date(late_utc, "id") == "1 Januari 2018"
        assert "03.00" in i18n.format_datetime(late_utc, "id")

    def test_numbers(self) -> None:
        assert i18n.format_number(1234567, "id") == "1.234.567"
        assert i18n.format_number(1234567, "en") == "1,234,567"

    def test_missing_values_render_empty(self) -> None:
        assert i18n.format_date(None, "id") == ""
        assert i18n.format_number(None, "id") == ""

    @given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(i18n.SUPPORTED_LOCALES))
    def test_formatted_numbers_read_back(self, value: int, locale: str) -> None:
        assert parse_decimal(i18n.format_number(value, locale), locale=locale) == value

    @given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2100, 12, 31)))
    def test_long_indonesian_dates_name_day_month_year(self, day: dt.date) -> None:
        text = i18n.format_date(day, "id")
        assert re.fullmatch(rf"{day.day} [A-Z][a-z]+ {day.year}", text)

    def test_jinja_filters(self) -> None:
        template = "{{ d|date }} · {{ d|date('short') }} · {{ n|number }} · {{ _('Log in') }}"
        rendered_id = environment("id").from_string(template).render(d=dt.date(2017, 12, 31), n=1234567)
        rendered_en = environment("en").from_string(template).render(d=dt.date(2017, 12, 31), n=1234567)
        assert rendered_id == "31 Desember 2017 · 31/12/17 · 1.234.567 · Masuk"
        assert rendered_en == "December 31, 2017 · 12/31/17 · 1,234,567 · Log in"

    def test_templates_escape_values(self) -> None:
        rendered = environment("id").from_string("{{ v }}").render(v="<script>x</script>")
        assert rendered == "&lt;script&gt;x&lt;/script&gt;"


class TestCatalogueCommand:
    def test_unknown_command_prints_usage(self, capsys: pytest.CaptureFixture[str]) -> None:
        assert i18n.main(["translate"]) == 2
        assert "usage: python -m ektp.web.i18n update|compile" in capsys.readouterr().err
