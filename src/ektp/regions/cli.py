"""Command line of the regions domain: ``ektp regions load | show | search``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ektp.auth.permissions import SYSTEM
from ektp.cli.common import DatabaseOption, cli_engine, console, domain_errors_exit
from ektp.db.session import unit_of_work
from ektp.models.regions import Region
from ektp.regions import service

app = typer.Typer(help="Regions (wilayah): the Kemendagri hierarchy.", no_args_is_help=True)


@app.command("load")
@domain_errors_exit
def load(
    village_province: Annotated[
        list[str] | None,
        typer.Option(
            "--village-province",
            help="Load villages of this province only (repeatable, e.g. --village-province 32). Default: all.",
        ),
    ] = None,
    database_url: str | None = DatabaseOption,
) -> None:
    """Load or refresh every province, regency/city and district, the villages, and the retired
    codes. Safe to run again: changes are applied, vanished codes are marked retired."""
    with (
        cli_engine(database_url) as engine,
        Progress(
            TextColumn("[bold]regions[/]"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task("load", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        with unit_of_work(engine) as session:
            report = service.load_regions(
                session, village_provinces=village_province or None, progress=progress, actor=SYSTEM
            )

    table = Table(title=f"Regions loaded from {report.source}")
    table.add_column("level")
    for column in ("inserted", "updated", "retired", "unchanged"):
        table.add_column(column, justify="right")
    for level, counts in sorted(report.levels.items()):
        table.add_row(
            f"{level} {service.LEVEL_NAMES[level]}",
            f"{counts.inserted:,}",
            f"{counts.updated:,}",
            f"{counts.retired:,}",
            f"{counts.unchanged:,}",
        )
    table.add_row(
        "total", f"{report.inserted:,}", f"{report.updated:,}", f"{report.retired:,}", f"{report.unchanged:,}"
    )
    console.print(table)
    scope = "all provinces" if report.village_provinces is None else ", ".join(report.village_provinces)
    console.print(f"villages loaded for {scope}; took {report.seconds:.1f} s")


def _describe(region: Region) -> str:
    flag = f" [yellow](historical, retired {region.valid_to})[/]" if region.valid_to is not None else ""
    return f"[bold]{region.code}[/] {escape(region.name)} — {region.kind}{flag}"


@app.command("show")
@domain_errors_exit
def show(
    code: Annotated[str, typer.Argument(help='Region code, dotted or not: "32.04", "3204".')],
    database_url: str | None = DatabaseOption,
) -> None:
    """Look a code up (current or historical) and list its children."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        resolution = service.resolve_region(session, code)
        region = resolution.region
        console.print(_describe(region))
        console.print(f"source: {escape(region.source)}")
        if region.postal_code:
            console.print(f"kode pos: {region.postal_code}")
        if resolution.inferred:
            console.print("[yellow]resolved by mapping the retired regency prefix (inferred)[/]")
        if resolution.successor is not None:
            console.print(f"now: {_describe(resolution.successor)}")
        if region.parent_code is not None:
            chain = []
            parent_code: str | None = region.parent_code
            while parent_code is not None:
                parent = service.get_region(session, parent_code)
                chain.append(f"{parent.code} {escape(parent.name)}")
                parent_code = parent.parent_code
            console.print("in: " + " › ".join(chain))
        if not resolution.inferred:
            children = service.list_children(session, region.code)
            if children:
                console.print(f"{len(children)} children:")
                for child in children:
                    console.print(f"  {child.code} {escape(child.name)}")


@app.command("search")
@domain_errors_exit
def search(
    query: Annotated[str, typer.Argument(help="Part of the name, at least 2 characters.")],
    level: Annotated[int | None, typer.Option(help="Only this level (1–4).")] = None,
    parent: Annotated[str | None, typer.Option(help="Only inside this region.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many results.")] = 20,
    include_historical: Annotated[bool, typer.Option(help="Also codes no longer in force.")] = False,
    database_url: str | None = DatabaseOption,
) -> None:
    """Find regions by name."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        regions = service.search_regions(
            session, query, level=level, parent=parent, limit=limit, include_historical=include_historical
        )
    if not regions:
        console.print(f"no region matches {escape(repr(query))}")
        return
    table = Table()
    for column in ("code", "name", "kind", "parent", "status"):
        table.add_column(column)
    for region in regions:
        status = "historical" if region.valid_to is not None else "current"
        table.add_row(region.code, region.name, region.kind, region.parent_code or "", status)
    console.print(table)
