"""``ektp residents``: look residents up and check NIKs from the command line.

Commands run as the system principal (national scope) in one read-only unit of work; bad input
exits with code 2 and a message naming the field and the rule."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from ektp.auth.permissions import SYSTEM
from ektp.cli.common import DatabaseOption, cli_engine, console, domain_errors_exit, err_console
from ektp.db.session import unit_of_work
from ektp.kit.errors import invalid
from ektp.kit.pagination import MAX_PAGE_SIZE, PageParams
from ektp.population import service
from ektp.population.nik import RegionStatus, SexCode, parse_nik
from ektp.regions.service import region_lookup

app = typer.Typer(help="Residents (penduduk): show, search, check a NIK.", no_args_is_help=True)


def _parse_date(raw: str | None, field_name: str) -> dt.date | None:
    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise invalid(field_name, "date_format", f"{raw!r} is not a date (YYYY-MM-DD)") from exc


@app.command("show")
@domain_errors_exit
def show(nik: str, database_url: str | None = DatabaseOption) -> None:
    """Show the resident with NIK."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        resident = service.get_by_nik(session, nik=nik, actor=SYSTEM)
        detail = service.resident_detail(session, resident=resident)
        table = Table(show_header=False, box=None)
        for key, value in detail.model_dump().items():
            if key == "labels":
                continue
            label = detail.labels.get(key)
            table.add_row(f"[bold]{key}[/]", f"{value}" + (f" ({label})" if label and label != value else ""))
        console.print(table)


@app.command("search")
@domain_errors_exit
def search(
    name: str,
    region: str | None = typer.Option(None, "--region", help="Region code at any level, e.g. 32.04."),
    birth_date: str | None = typer.Option(None, "--birth-date", help="YYYY-MM-DD."),
    page: int = typer.Option(1, "--page", min=1),
    size: int = typer.Option(20, "--size", min=1, max=MAX_PAGE_SIZE),
    database_url: str | None = DatabaseOption,
) -> None:
    """Residents whose name starts with NAME."""
    born = _parse_date(birth_date, "birth_date")
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        result = service.search_residents(
            session,
            actor=SYSTEM,
            name=name,
            birth_date=born,
            region_code=region,
            page=PageParams(page=page, size=size),
        )
    table = Table()
    for column in ("NIK", "name", "born", "sex", "village", "status"):
        table.add_column(column, no_wrap=column != "name")
    for item in result.items:
        table.add_row(
            item.nik,
            item.full_name,
            item.birth_date.isoformat(),
            item.sex,
            item.village_code,
            item.life_status,
        )
    console.print(table)
    more = f" (more: --page {result.page + 1})" if result.has_next else ""
    console.print(f"page {result.page}{more}")


def _print_nik(nik: str, born: dt.date | None, sex: SexCode | None, lookup: RegionStatus | None) -> None:
    result = parse_nik(nik, birth_date=born, sex=sex, region_status=lookup)
    if result.facts is not None:
        facts = result.facts
        table = Table(show_header=False, box=None)
        table.add_row("province", facts.province_code)
        table.add_row("regency/city", f"{facts.regency_code} ({facts.regency_kind})")
        table.add_row("district", facts.district_code)
        table.add_row("sex", "LAKI-LAKI" if facts.sex == "L" else "PEREMPUAN")
        table.add_row("birth DDMMYY", f"{facts.birth_day:02d}{facts.birth_month:02d}{facts.birth_yy:02d}")
        if facts.birth_date is not None:
            table.add_row("birth date", facts.birth_date.isoformat())
        else:
            candidates = ", ".join(d.isoformat() for d in facts.birth_date_candidates) or "-"
            table.add_row("birth date could be", candidates)
        table.add_row("serial", f"{facts.serial:04d}")
        console.print(table)
    for problem in result.errors:
        console.print(f"[bold red]error[/] {problem.field}: {problem.message} \\[{problem.rule}]")
    for problem in result.warnings:
        console.print(f"[yellow]warning[/] {problem.field}: {problem.message} \\[{problem.rule}]")
    if lookup is None:
        console.print("[dim]region prefix not checked[/]")
    if result.errors:
        raise typer.Exit(code=2)
    console.print("[green]NIK is valid[/]")


@app.command("nik-check")
@domain_errors_exit
def nik_check(
    nik: str,
    birth_date: str | None = typer.Option(None, "--birth-date", help="Stored birth date, YYYY-MM-DD."),
    sex: str | None = typer.Option(None, "--sex", help="Stored sex, L or P."),
    offline: bool = typer.Option(False, "--offline", help="Skip the region check (no database)."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Parse NIK: print its facts, errors and warnings (unknown or retired region prefix).
    Exit code 2 if it has errors."""
    born = _parse_date(birth_date, "birth_date")
    if sex is not None and sex not in ("L", "P"):
        raise invalid("sex", "code", f"sex must be L or P, got {sex!r}")
    sex_code: SexCode | None = "L" if sex == "L" else ("P" if sex == "P" else None)
    lookup: RegionStatus | None = None
    if not offline:
        try:
            with cli_engine(database_url) as engine, unit_of_work(engine) as session:
                lookup = region_lookup(session)
        except SQLAlchemyError as exc:
            err_console.print(f"[yellow]region check skipped (database unavailable):[/] {type(exc).__name__}")
    _print_nik(nik, born, sex_code, lookup)
