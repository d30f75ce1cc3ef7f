"""Command line of the simulate domain: ``ektp simulate population``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine, inspect, select

from ektp.auth.permissions import SYSTEM
from ektp.cli.common import DatabaseOption, cli_engine, console, domain_errors_exit
from ektp.db.session import unit_of_work
from ektp.kit.errors import InvalidState, invalid
from ektp.models.regions import Region
from ektp.simulate import data
from ektp.simulate.load import (
    PopulationReport,
    insert_population,
    normalise_provinces,
    settle_after_load,
    villages_loaded,
)
from ektp.simulate.population import DEFAULT_CHUNK_SIZE, REFERENCE_DATE

app = typer.Typer(help="Synthetic data: a population to try ektp with.", no_args_is_help=True)


def _progress_bar(label: str) -> Progress:
    return Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )


def require_schema(engine: Engine) -> None:
    """Refuse to run on a database the migrations have not built (with what to do instead)."""
    tables = set(inspect(engine).get_table_names())
    missing = [name for name in ("regions", "residents", "families") if name not in tables]
    if missing:
        raise InvalidState(
            f"The database has no {', '.join(missing)} table: run `ektp db upgrade` first "
            f"(database: {engine.url.render_as_string(hide_password=True)})."
        )


def ensure_villages(engine: Engine, provinces: tuple[str, ...]) -> list[str]:
    """Load the regions (with the villages of ``provinces``) when those villages are missing.
    Returns the provinces whose villages had to be loaded."""
    with engine.connect() as connection:
        counts = villages_loaded(connection, provinces)
    missing = [code for code, count in counts.items() if count == 0]
    if missing:
        from ektp.regions.service import load_regions

        with _progress_bar("regions") as bar, unit_of_work(engine) as session:
            task = bar.add_task("load", total=None)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            load_regions(session, village_provinces=missing, progress=progress, actor=SYSTEM)
    return missing


def _regency_names(engine: Engine, codes: list[str]) -> dict[str, str]:
    if not codes:
        return {}
    with engine.connect() as connection:
        rows = connection.execute(select(Region.code, Region.name).where(Region.code.in_(codes)))
        return {str(code): str(name) for code, name in rows}


def print_summary(report: PopulationReport, regency_names: dict[str, str]) -> None:
    summary = Table(title=f"Synthetic population (seed {report.seed}, {report.backend})")
    summary.add_column("figure")
    summary.add_column("value", justify="right")
    summary.add_row("provinces", escape(", ".join(report.provinces)))
    summary.add_row("residents", f"{report.residents:,}")
    summary.add_row("families (KK)", f"{report.families:,}")
    summary.add_row("mean family size", f"{report.mean_family_size:.2f}")
    summary.add_row(f"wajib KTP on {report.reference_date.isoformat()}", f"{report.wajib_ktp:,}")
    summary.add_row("foreigners (WNA)", f"{report.foreigners:,}")
    summary.add_row("KK editions", f"{report.kk_editions:,}")
    summary.add_row("resident ids", f"{report.first_resident_id:,}–{report.last_resident_id:,}")
    summary.add_row("seconds", f"{report.seconds:.1f}")
    console.print(summary)
    regencies = Table(title="Residents by regency/city (top 10)")
    regencies.add_column("code")
    regencies.add_column("regency/city")
    regencies.add_column("residents", justify="right")
    for code, count in report.top_regencies(10):
        regencies.add_row(code, escape(regency_names.get(code, "?")), f"{count:,}")
    console.print(regencies)


@app.command("population")
@domain_errors_exit
def population(
    size: Annotated[int, typer.Option("--size", help="How many residents to generate.")],
    province: Annotated[
        list[str] | None,
        typer.Option(
            "--province",
            help="Province code where the families live (repeatable, or comma-separated: 32,31). "
            "Default: the whole country, weighted by population.",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed: the same seed gives the same people.")
    ] = 1,
    chunk_size: Annotated[
        int, typer.Option("--chunk-size", help="Residents generated and written per batch.")
    ] = DEFAULT_CHUNK_SIZE,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of", help="The date the register is as of (YYYY-MM-DD); every date is on or before it."
        ),
    ] = None,
    database_url: str | None = DatabaseOption,
) -> None:
    """Generate residents with their families (KK) and write them to the database, loading the
    villages of the chosen provinces first if they are missing."""
    if size < 1:
        raise invalid("size", "range", f"--size must be at least 1, got {size}")
    if chunk_size < 1:
        raise invalid("chunk_size", "range", f"--chunk-size must be at least 1, got {chunk_size}")
    reference = REFERENCE_DATE
    if as_of is not None:
        try:
            reference = dt.date.fromisoformat(as_of)
        except ValueError as exc:
            raise invalid("as_of", "date", f"--as-of must be a date like 2025-12-31, got {as_of!r}") from exc
    provinces = normalise_provinces(province) if province else None
    wanted = provinces if provinces is not None else tuple(sorted(data.PROVINCE_POPULATION))
    unknown = [code for code in wanted if code not in data.PROVINCE_POPULATION]
    if unknown:
        raise invalid("province", "unknown", f"{unknown[0]} is not a Kemendagri province code")

    with cli_engine(database_url) as engine:
        require_schema(engine)
        loaded = ensure_villages(engine, wanted)
        if loaded:
            console.print(f"loaded the regions with the villages of {', '.join(loaded)}")
        with _progress_bar("residents") as bar:
            task = bar.add_task("generate", total=size)

            def progress(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            report = insert_population(
                engine,
                size=size,
                seed=seed,
                province=provinces,
                chunk_size=chunk_size,
                progress=progress,
                reference_date=reference,
                actor=SYSTEM,
            )
        settle_after_load(engine)
        names = _regency_names(engine, [code for code, _ in report.top_regencies(10)])
    print_summary(report, names)
