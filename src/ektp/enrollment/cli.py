"""``ektp enrollment``: service points and the demo day of recordings from the command line.

Commands run as the system principal in one unit of work; bad input exits with code 2 and a
message naming the field and the rule."""

from __future__ import annotations

import datetime as dt

import typer
from rich.table import Table

from ektp.auth.permissions import SYSTEM
from ektp.cli.common import DatabaseOption, cli_engine, console, domain_errors_exit
from ektp.db.session import unit_of_work
from ektp.enrollment import demo, service
from ektp.models.enrollment import ServicePointKind

NAME = "enrollment"

app = typer.Typer(help="Enrollment (perekaman): service points and recordings.", no_args_is_help=True)


@app.command("points")
@domain_errors_exit
def points(
    region: str | None = typer.Option(None, "--region", help="Province or regency code, e.g. 32 or 32.04."),
    database_url: str | None = DatabaseOption,
) -> None:
    """List the service points (offices and service events)."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        found = service.list_points(session, actor=SYSTEM, region_code=region)
        table = Table("id", "code", "kind", "name", "region", "dates", "capacity", "active")
        for p in found:
            dates = f"{p.starts_on} – {p.ends_on}" if p.starts_on else ""
            table.add_row(
                str(p.id),
                p.code,
                p.kind,
                p.name,
                p.region_code,
                dates,
                str(p.daily_capacity),
                "yes" if p.active else "no",
            )
    console.print(table)


@app.command("add-point")
@domain_errors_exit
def add_point(
    code: str = typer.Argument(..., help="Unique code, e.g. 32.04-EXPO-2026."),
    region: str = typer.Option(..., "--region", help="Regency/city code, e.g. 32.04."),
    name: str = typer.Option(..., "--name"),
    place: str = typer.Option(..., "--place"),
    capacity: int = typer.Option(200, "--capacity", help="Recordings per day."),
    starts_on: str | None = typer.Option(None, "--from", help="Service event: first day (YYYY-MM-DD)."),
    ends_on: str | None = typer.Option(None, "--to", help="Service event: last day (YYYY-MM-DD)."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Add an office (no dates) or a service event (--from and --to)."""
    kind = ServicePointKind.EVENT if starts_on or ends_on else ServicePointKind.OFFICE
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        point = service.create_point(
            session,
            code=code,
            kind=kind,
            name=name,
            region_code=region,
            place=place,
            daily_capacity=capacity,
            starts_on=dt.date.fromisoformat(starts_on) if starts_on else None,
            ends_on=dt.date.fromisoformat(ends_on) if ends_on else None,
            actor=SYSTEM,
        )
        console.print(f"service point {point.code} created (id {point.id})")


@app.command("demo")
@domain_errors_exit
def demo_day(
    province: str = typer.Option("32", "--province", help="Province code whose residents are recorded."),
    seed: int = typer.Option(2017, "--seed"),
    recordings: int = typer.Option(200, "--recordings", min=0, max=100_000),
    duplicates: int = typer.Option(5, "--duplicates", min=0),
    database_url: str | None = DatabaseOption,
) -> None:
    """Service points for the province and a day of recordings sent for enrollment, with planted
    duplicates (the same synthetic person recorded under two residents)."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        summary = demo.seed_enrollment_demo(
            session, province=province, seed=seed, recordings=recordings, duplicates=duplicates
        )
    console.print(
        f"{len(summary.points)} service points, {summary.recordings} recordings sent for enrollment, "
        f"{len(summary.duplicates)} planted duplicates, {summary.exceptions} trait exceptions"
    )
    for duplicate, original in summary.duplicates:
        console.print(f"  recording {duplicate} is the same person as recording {original}")
