"""``ektp blanko``: blank logistics from the command line — locations, the 2017 demo contracts,
balances, stock cards, rebuilding the projection and reconciling contracts.

Commands run as the system principal in one unit of work; bad input exits with code 2 and a
message naming the field and the rule."""

from __future__ import annotations

import typer
from rich.table import Table
from sqlalchemy import func, select

from ektp.auth.permissions import SYSTEM
from ektp.blanko import contracts, demo_data, ledger, reconciliation, repository
from ektp.cli.common import DatabaseOption, cli_engine, console, domain_errors_exit
from ektp.db.session import unit_of_work
from ektp.kit.pagination import MAX_PAGE_SIZE, PageParams
from ektp.models.blanko import Location, StockBalance

app = typer.Typer(help="Blank (blanko) logistics: contracts, lots, the ledger.", no_args_is_help=True)


@app.command("locations")
@domain_errors_exit
def locations(database_url: str | None = DatabaseOption) -> None:
    """Create the ledger locations (centre, virtual, every province and regency/city office)."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        report = contracts.ensure_locations(session)
    console.print(f"{report.created} locations created, {report.total} in all")


@app.command("load-demo-2017")
@domain_errors_exit
def load_demo_2017(
    scale: float = typer.Option(0.01, "--scale", help="Multiply every quantity (1 = the real figures)."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Load the 2017 contracts (7 M Jan, 7 M Mar, 6.75 M + 16 M Nov e-catalogue) with their lots."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        report = demo_data.load_demo_2017(session, actor=SYSTEM, scale=scale)
    console.print(
        f"{report.contracts_created} contracts created ({report.contracts_present} already there), "
        f"{report.lots_received} lots, {report.blanks_received:,} blanks received at CENTRE"
    )


@app.command("rebuild")
@domain_errors_exit
def rebuild(
    rewrite: bool = typer.Option(
        False, "--rewrite", help="Replace the projection by the replay if they differ."
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Replay every ledger entry and compare with the balance projection."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        report = ledger.rebuild_balances(session, rewrite=rewrite, actor=SYSTEM)
    if report.identical:
        console.print(f"identical: {report.balances_compared} balances, projection equals the replay")
        return
    table = Table("location", "lot id", "projected", "replayed")
    for diff in report.differences[:50]:
        table.add_row(diff.location_code, str(diff.lot_id), str(diff.projected), str(diff.replayed))
    console.print(table)
    state = "rewritten from the replay" if report.rewritten else "NOT rewritten (use --rewrite)"
    console.print(f"{len(report.differences)} balances differ; projection {state}")
    if not report.rewritten:
        raise typer.Exit(code=1)


@app.command("balance")
@domain_errors_exit
def balance(
    location: str | None = typer.Option(
        None, "--location", help="A location code, e.g. CENTRE or REG:32.04."
    ),
    database_url: str | None = DatabaseOption,
) -> None:
    """Blanks per lot at one location, or per kind of location."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        if location is not None:
            where = ledger.location_by_code(session, location)
            table = Table("lot id", "lot", "received on", "blanks", title=f"{where.code} — {where.name}")
            held = ledger.balances_at(session, where)
            for lot, quantity in held:
                table.add_row(str(lot.id), lot.lot_no, lot.received_on.isoformat(), f"{quantity:,}")
            table.add_row("", "[bold]total[/]", "", f"[bold]{sum(q for _, q in held):,}[/]")
            console.print(table)
            return
        rows = session.execute(
            select(Location.kind, func.count(func.distinct(Location.id)), func.sum(StockBalance.quantity))
            .join(StockBalance, StockBalance.location_id == Location.id)
            .group_by(Location.kind)
            .order_by(Location.kind)
        )
        table = Table("kind", "locations with a balance", "blanks")
        for kind, count, quantity in rows:
            table.add_row(str(kind), str(count), f"{int(quantity):,}")
        console.print(table)


@app.command("stock-card")
@domain_errors_exit
def stock_card(
    location: str,
    page: int = typer.Option(1, "--page", min=1),
    size: int = typer.Option(50, "--size", min=1, max=MAX_PAGE_SIZE),
    database_url: str | None = DatabaseOption,
) -> None:
    """Movements of LOCATION with the running balance."""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        where = ledger.location_by_code(session, location)
        card = ledger.stock_card(session, location=where, page=PageParams(page=page, size=size))
    table = Table(
        "event", "date", "reason", "document", "from/to", "in", "out", "balance", title=f"{where.code}"
    )
    for line in card.lines:
        table.add_row(
            str(line.event_id),
            line.business_date.isoformat(),
            line.reason,
            line.document_no,
            ", ".join(line.counterparts),
            f"{line.quantity_in:,}" if line.quantity_in else "",
            f"{line.quantity_out:,}" if line.quantity_out else "",
            f"{line.balance_after:,}",
        )
    console.print(table)
    console.print(f"balance {card.balance:,}" + (f" — more: --page {page + 1}" if card.has_next else ""))


@app.command("reconcile")
@domain_errors_exit
def reconcile(database_url: str | None = DatabaseOption) -> None:
    """Per contract: received, distributed, printed, spoiled, lost, on hand, in transit — adds up?"""
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        results = reconciliation.reconcile_all(session)
        count = len(repository.all_contracts(session))
    table = Table(
        "contract",
        "received",
        "distributed",
        "centre",
        "printed",
        "spoiled",
        "lost",
        "regions",
        "in transit",
        "adjust.",
        "balanced",
    )
    unbalanced = 0
    for contract, f, result in results:
        unbalanced += 0 if result.balanced else 1
        verdict = (
            "yes"
            if result.balanced
            else "NO: "
            + ", ".join(
                f"{line.name} off by {line.difference:+,}" for line in result.lines if not line.balanced
            )
        )
        table.add_row(
            contract.number,
            *(
                f"{v:,}"
                for v in (
                    f.received,
                    f.distributed,
                    f.on_hand_centre,
                    f.printed,
                    f.spoiled,
                    f.lost,
                    f.on_hand_regions,
                    f.in_transit,
                    f.adjustments,
                )
            ),
            verdict,
        )
    console.print(table)
    for contract, _, result in results:
        verdict = (
            "balanced"
            if result.balanced
            else "NOT balanced: "
            + ", ".join(
                f"{line.name} off by {line.difference:+,}" for line in result.lines if not line.balanced
            )
        )
        console.print(f"{contract.number}: {verdict}", soft_wrap=True)
    console.print(f"{count} contracts, {unbalanced} not balanced")
    if unbalanced:
        raise typer.Exit(code=1)


@app.command("forecast")
@domain_errors_exit
def forecast(
    region: str = typer.Option(..., "--region", help="Province or regency/city code, e.g. 32.04."),
    months: int = typer.Option(6, "--months", min=1, max=36, help="Months to forecast."),
    start: str | None = typer.Option(None, "--start", help="First month (YYYY-MM-DD; default: today)."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Blank demand per month from the register (turning 17, married under 17, re-issues), with
    its assumptions."""
    import datetime as dt

    from ektp.blanko.forecast import region_forecast
    from ektp.kit.errors import invalid
    from ektp.kit.time import today_wib
    from ektp.planning.forecast import format_forecast

    try:
        first = dt.date.fromisoformat(start) if start else today_wib()
    except ValueError as exc:
        raise invalid("start", "date_format", f"start must be a date YYYY-MM-DD, got {start!r}") from exc
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        result = region_forecast(session, region_code=region, start=first, horizon_months=months)
    console.print(format_forecast(result), markup=False, highlight=False)
