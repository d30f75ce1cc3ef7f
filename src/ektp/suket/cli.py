"""``ektp suket``: sukets from the command line — the demo issue and the outstanding report.
Commands run as the system principal in one unit of work; bad input exits with code 2."""

from __future__ import annotations

import typer
from rich.table import Table

from ektp.auth.permissions import SYSTEM
from ektp.cli.common import DatabaseOption, cli_engine, console, domain_errors_exit
from ektp.db.session import unit_of_work
from ektp.suket import demo, service

app = typer.Typer(help="Sukets (temporary certificates) and re-issue requests.", no_args_is_help=True)


@app.command("demo")
@domain_errors_exit
def demo_command(
    province: str = typer.Option("32", "--province", help="Province code (e.g. 32)."),
    max_per_region: int = typer.Option(20, "--max-per-region", min=1),
    reissues: int = typer.Option(2, "--reissues", min=0, help="Re-issue requests for card holders."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Issue sukets to PRR residents of regencies without blanks, and a few re-issue requests."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        summary = demo.issue_demo_sukets(
            session, province=province, max_per_region=max_per_region, reissues=reissues
        )
    console.print(
        f"{len(summary.sukets)} sukets issued in {len(summary.empty_regions)} regencies without stock; "
        f"{len(summary.reissues)} re-issue requests ({', '.join(r[2] for r in summary.reissues) or '-'})"
    )


@app.command("outstanding")
@domain_errors_exit
def outstanding_command(database_url: str | None = DatabaseOption) -> None:
    """Active sukets per regency by age (0–1, 1–3, 3–6 months, expired)."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        rows = service.outstanding(session, SYSTEM)
    table = Table("region", *service.BUCKETS, "total")
    for row in rows:
        table.add_row(row.region_code, *(str(row.buckets[b]) for b in service.BUCKETS), str(row.total))
    console.print(table)
