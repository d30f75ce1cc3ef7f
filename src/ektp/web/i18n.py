"""Languages of the web shell: message catalogues (gettext, compiled by Babel), the choice of
language for a request, and locale-aware formatting of dates and numbers.

Bahasa Indonesia (``id``) is the default; English (``en``) is selectable. Source strings
(msgids) are written in English; ``locales/id/LC_MESSAGES/messages.po`` holds the Indonesian
translations and ``locales/en/LC_MESSAGES/messages.po`` the English ones (usually identical).

Adding a translated string:

* in a template: ``{{ _("Search residents") }}`` (``{{ _("Hello, %(name)s", name=x) }}`` with
  a placeholder); ``{% trans %}...{% endtrans %}`` works too;
* in Python, translated at once: ``page.gettext("Saved.")``; declared now and translated when
  rendered (labels of navigation items, code lists): ``N_("Residents")``, then ``_(label)`` in
  the template;
* then ``.venv/bin/python -m ektp.web.i18n update`` (extracts every marked string with
  ``web/babel.cfg``, merges both ``messages.po``, copies new msgids into the English catalogue
  and lists what still lacks an Indonesian translation); write those ``msgstr`` in
  ``locales/id/LC_MESSAGES/messages.po``; then ``.venv/bin/python -m ektp.web.i18n compile``
  and commit the ``.po`` and ``.mo`` files.

``tests/web/test_i18n.py`` fails while a string lacks a translation or a ``.mo`` file is stale.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import tempfile
from functools import cache
from pathlib import Path
from typing import Final

from babel import Locale
from babel.dates import format_date as babel_format_date
from babel.dates import format_datetime as babel_format_datetime
from babel.numbers import format_decimal as babel_format_decimal
from babel.support import NullTranslations, Translations

#: Locales offered by the language switch, default first.
SUPPORTED_LOCALES: Final = ("id", "en")
DEFAULT_LOCALE: Final = "id"
#: The cookie that keeps the language chosen with the switch (a preference, not a secret).
LOCALE_COOKIE: Final = "ektp_lang"
LOCALE_COOKIE_MAX_AGE: Final = 365 * 24 * 3600
#: Business times are shown in Western Indonesia Time, where the central offices work.
DISPLAY_TIMEZONE: Final = "Asia/Jakarta"

LOCALES_DIR: Final = Path(__file__).parent / "locales"
DOMAIN: Final = "messages"

#: The name of each language in itself, for the language switch (never translated).
LANGUAGE_NAMES: Final = {"id": "Bahasa Indonesia", "en": "English"}


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Marks a string for extraction without translating it now (translated when rendered)."""
    return message


def normalise_locale(value: str | None) -> str | None:
    """``"en"``, ``"EN"``, ``"en-US"``, ``"en_GB"`` → ``"en"``; anything unsupported → ``None``."""
    if not value:
        return None
    language = value.strip().replace("-", "_").split("_", 1)[0].lower()
    return language if language in SUPPORTED_LOCALES else None


def choose_locale(*, cookie: str | None, user_locale: str | None, default: str | None) -> str:
    """The language of a response: the language switch's cookie first (an explicit choice), then
    the logged-in user's stored preference, then the configured default, then Indonesian. The
    browser's Accept-Language is deliberately ignored: the service speaks Indonesian unless asked."""
    for candidate in (cookie, user_locale, default):
        locale = normalise_locale(candidate)
        if locale:
            return locale
    return DEFAULT_LOCALE


@cache
def translations(locale: str) -> NullTranslations:
    """The compiled catalogue of ``locale`` (loaded once per process)."""
    if locale not in SUPPORTED_LOCALES:
        raise ValueError(f"locale: unsupported locale {locale!r}; expected one of {SUPPORTED_LOCALES}")
    loaded = Translations.load(str(LOCALES_DIR), [locale], domain=DOMAIN)
    if not isinstance(loaded, Translations):
        # Translations.load falls back to NullTranslations silently; a missing catalogue is a
        # packaging error that must not turn the whole UI into untranslated English.
        raise FileNotFoundError(
            f"no compiled catalogue {DOMAIN}.mo for locale {locale!r} under {LOCALES_DIR}"
        )
    return loaded


def gettext(locale: str, message: str) -> str:
    return translations(locale).gettext(message)


def ngettext(locale: str, singular: str, plural: str, count: int) -> str:
    return translations(locale).ngettext(singular, plural, count)


def format_date(value: dt.date | dt.datetime | None, locale: str, format: str = "long") -> str:
    """``date(2017, 12, 31)`` → ``31 Desember 2017`` (id) / ``December 31, 2017`` (en).
    ``None`` → ``""``. ``format`` is a Babel format name (short, medium, long, full) or pattern."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = value.astimezone(_zone()).date() if value.tzinfo else value.date()
    return babel_format_date(value, format=format, locale=locale)


def format_datetime(value: dt.datetime | None, locale: str, format: str = "medium") -> str:
    """A system time (UTC) shown in Western Indonesia Time."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return babel_format_datetime(value, format=format, tzinfo=_zone(), locale=locale)


def format_number(value: int | float | None, locale: str) -> str:
    """``1234567`` → ``1.234.567`` (id) / ``1,234,567`` (en). ``None`` → ``""``."""
    if value is None:
        return ""
    return babel_format_decimal(value, locale=locale)


@cache
def _zone() -> dt.tzinfo:
    from babel.dates import get_timezone

    return get_timezone(DISPLAY_TIMEZONE)


@cache
def locale_object(locale: str) -> Locale:
    return Locale.parse(locale)


# --------------------------------------------------------------------------- catalogue upkeep

#: ``src/ektp``: the extraction root (``web/babel.cfg`` patterns are relative to it).
PACKAGE_DIR: Final = Path(__file__).resolve().parents[1]


def _pybabel(*args: str) -> None:
    from babel.messages.frontend import CommandLineInterface

    CommandLineInterface().run(["pybabel", "--quiet", *args])  # type: ignore[no-untyped-call]


def _po_path(locale: str) -> Path:
    return LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def update_catalogues() -> dict[str, list[str]]:
    """Extracts the marked strings and merges them into every catalogue (obsolete entries are
    dropped); English msgstrs are filled from their msgids. Returns the untranslated msgids of
    each locale."""
    from babel.messages.pofile import read_po, write_po

    from ektp import __version__

    with tempfile.TemporaryDirectory() as scratch, contextlib.chdir(PACKAGE_DIR):
        template = str(Path(scratch) / f"{DOMAIN}.pot")
        _pybabel(
            "extract", "-F", "web/babel.cfg", "--no-wrap", "--sort-by-file",
            "--project", "ektp", "--version", __version__, "--copyright-holder", "ektp contributors",
            "-o", template, ".",
        )  # fmt: skip
        for locale in SUPPORTED_LOCALES:
            command = "update" if _po_path(locale).exists() else "init"
            extra = ["--no-fuzzy-matching", "--ignore-obsolete"] if command == "update" else []
            _pybabel(
                command,
                "-i",
                template,
                "-d",
                str(LOCALES_DIR),
                "-D",
                DOMAIN,
                "-l",
                locale,
                "--no-wrap",
                *extra,
            )
    missing: dict[str, list[str]] = {}
    for locale in SUPPORTED_LOCALES:
        with _po_path(locale).open("rb") as source:
            catalog = read_po(source, locale=locale)
        for message in catalog:
            if not message.id:
                continue
            if locale == "en" and not message.string:
                message.string = message.id
            if not message.string or (isinstance(message.string, tuple) and not all(message.string)):
                missing.setdefault(locale, []).append(str(message.id))
        with _po_path(locale).open("wb") as target:
            write_po(target, catalog, width=0, sort_by_file=True, ignore_obsolete=True)
    return missing


def compile_catalogues() -> None:
    """Compiles every ``messages.po`` into its ``messages.mo``."""
    _pybabel("compile", "-d", str(LOCALES_DIR), "-D", DOMAIN)


def main(argv: list[str] | None = None) -> int:
    """``python -m ektp.web.i18n update|compile``."""
    args = sys.argv[1:] if argv is None else argv
    if args == ["update"]:
        missing = update_catalogues()
        for locale, msgids in missing.items():
            print(f"{locale}: {len(msgids)} untranslated", file=sys.stderr)
            for msgid in msgids:
                print(f"  {msgid!r}", file=sys.stderr)
        return 1 if missing else 0
    if args == ["compile"]:
        compile_catalogues()
        return 0
    print("usage: python -m ektp.web.i18n update|compile", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
