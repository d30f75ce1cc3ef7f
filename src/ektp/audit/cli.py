"""``ektp audit``: verify the hash chain, show the latest rows."""

from __future__ import annotations

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ektp.cli.common import DatabaseOption, cli_engine, console, domain_errors_exit, err_console
from ektp.db.session import unit_of_work

app = typer.Typer(help="The hash-chained audit trail.", no_args_is_help=True)


@app.command("verify")
@domain_errors_exit
def verify(database_url: str | None = DatabaseOption) -> None:
    """Check every row's hash and link; exit 1 naming the first altered or removed row."""
    from ektp.audit.service import verify_chain

    with (
        cli_engine(database_url) as engine,
        unit_of_work(engine) as session,
        Progress(
            TextColumn("verifying audit chain"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=True,
        ) as progress,
    ):
        task = progress.add_task("verify", total=None)

        def report(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        result = verify_chain(session, progress=report)
    if not result.intact:
        err_console.print(
            f"[bold red]audit chain BROKEN[/] at row {result.first_bad_id} ({result.problem}): {result.message}"
        )
        err_console.print(f"{result.rows_checked} rows before it verified")
        raise typer.Exit(code=1)
    console.print(f"[bold green]audit chain intact[/]: {result.rows_checked} rows")
    console.print(f"head: row {result.head_id or 0}, hash {result.head_hash}")


@app.command("tail")
@domain_errors_exit
def tail(
    n: int = typer.Option(20, "-n", "--lines", min=1, max=10_000, help="How many rows."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Show the latest audit rows, oldest first."""
    from ektp.audit.repository import tail as latest

    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        rows = latest(session, limit=n)
        table = Table(title=f"last {len(rows)} audit rows")
        for column in ("id", "recorded (UTC)", "actor", "role", "region", "action", "entity", "hash"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(
                str(row.id),
                row.recorded_at.strftime("%Y-%m-%d %H:%M:%S"),
                row.actor_username,
                row.actor_role,
                row.actor_region or "",
                row.action,
                f"{row.entity_type}:{row.entity_id}",
                row.row_hash[:12],
            )
        console.print(table)
