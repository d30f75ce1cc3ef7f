"""``ektp printing``: blank traceability from the command line. Runs as the system principal in
one unit of work (read-only); exits with code 1 when a blank is untraced, so that it can gate a
nightly check."""

from __future__ import annotations

import typer
from rich.table import Table

from ektp.cli.common import DatabaseOption, cli_engine, console, domain_errors_exit
from ektp.db.session import unit_of_work
from ektp.printing.trace import blank_trace

app = typer.Typer(help="Card printing: blank traceability.", no_args_is_help=True)


@app.command("trace")
@domain_errors_exit
def trace_command(
    region: str | None = typer.Option(None, "--region", help="One regency/city code (e.g. 32.04)."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Every blank a region used, against its card or spoilage record (imported totals apart)."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        rows = blank_trace(session, region)
    table = Table("region", "printed", "spoiled", "imported", "traced", "cards", "untraced", "cards missing")
    for row in rows:
        table.add_row(
            row.region_code,
            f"{row.printed:,}",
            f"{row.spoiled:,}",
            f"{row.imported:,}",
            f"{row.traced:,}",
            f"{row.cards:,}",
            f"{row.untraced:,}",
            f"{row.cards_missing:,}",
        )
    console.print(table)
    broken = [row.region_code for row in rows if not row.complete]
    if broken:
        console.print(
            f"[red]untraced blanks or missing cards in {len(broken)} regions: {', '.join(broken)}[/]"
        )
        raise typer.Exit(1)
    console.print(f"every blank used through ektp is traced ({sum(r.traced for r in rows):,} blanks)")
