"""``ektp serve`` and ``ektp demo``: the working system on one machine."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import typer
from rich.table import Table
from sqlalchemy import Engine, func, select

from ektp.auth.permissions import CENTRAL_ROLES, Role
from ektp.cli.common import DatabaseOption, console, domain_errors_exit, settings_from_cli


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: Role
    region_code: str | None
    password: str


def demo_accounts(province: str, regency: str) -> list[DemoAccount]:
    """One account per role, each with a fresh random password (demo credentials are printed,
    never hard-coded). Regional roles are scoped to the demo province's first regency."""
    accounts = []
    for role in Role:
        region = None if role in CENTRAL_ROLES else (regency if role is Role.REGIONAL_OPERATOR else province)
        username = f"demo.{role.value}".replace("_", "-")
        accounts.append(DemoAccount(username, role, region, secrets.token_urlsafe(9)))
    return accounts


def _ensure_demo_users(engine: Engine, province: str) -> list[DemoAccount]:
    from ektp.auth.permissions import SYSTEM
    from ektp.auth.service import create_user, set_password
    from ektp.db.session import unit_of_work
    from ektp.models.auth import User
    from ektp.models.regions import Region

    with unit_of_work(engine) as session:
        regency = session.scalars(
            select(Region.code)
            .where(Region.parent_code == province, Region.valid_to.is_(None))
            .order_by(Region.code)
        ).first()
        if regency is None:
            raise typer.BadParameter(f"province {province} has no regencies loaded", param_hint="--province")
        accounts = demo_accounts(province, regency)
        for account in accounts:
            user = session.scalars(select(User).where(User.username == account.username)).first()
            if user is None:
                create_user(
                    session,
                    username=account.username,
                    password=account.password,
                    full_name=f"Demo {account.role.value.replace('_', ' ').title()}",
                    role=account.role,
                    region_code=account.region_code,
                    actor=SYSTEM,
                )
            else:
                set_password(session, user=user, password=account.password, actor=SYSTEM)
    return accounts


def register_serve_commands(app: typer.Typer) -> None:
    @app.command("serve")
    def serve(host: str = "127.0.0.1", port: int = 8000, database_url: str | None = DatabaseOption) -> None:
        """Serve the web application and API."""
        import uvicorn

        from ektp.app import create_app

        settings = settings_from_cli(database_url)
        console.print(f"ektp serving on [bold]http://{host}:{port}/[/] (API docs at /api/v1/docs)")
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")

    @app.command("demo")
    @domain_errors_exit
    def demo(
        province: str = typer.Option("32", help="Province whose population is generated."),
        size: int = typer.Option(20_000, min=100, max=2_000_000, help="Residents to generate."),
        seed: int = typer.Option(2017, help="Seed of the synthetic population."),
        host: str = "127.0.0.1",
        port: int = 8000,
        serve_after: bool = typer.Option(True, "--serve/--no-serve", help="Serve the web app when set up."),
        database_url: str | None = DatabaseOption,
    ) -> None:
        """Set up a working system on SQLite: schema, regions, a synthetic population, one user per
        role (credentials printed), the blank logistics and a working day (recording,
        deduplication, printing, sukets, re-issues), then serve the web app on localhost with its
        dedup worker."""
        from ektp.db.engine import make_engine
        from ektp.db.migrate import upgrade
        from ektp.db.session import unit_of_work
        from ektp.models.population import Resident
        from ektp.regions.service import load_regions, region_counts
        from ektp.simulate.load import insert_population

        settings = settings_from_cli(database_url)
        console.rule("ektp demo")
        console.print(f"database: [bold]{settings.database_url}[/]")
        upgrade(settings.database_url)
        console.print("schema: up to date")
        engine = make_engine(settings.database_url)
        try:
            with unit_of_work(engine) as session:
                report = load_regions(session, village_provinces=None)
                current = region_counts(session)
            levels = ", ".join(
                f"{name} {current.get(level, 0):,}"
                for level, name in enumerate(
                    ("provinces", "regencies/cities", "districts", "villages"), start=1
                )
            )
            console.print(f"regions: {levels} current; {report.retired} codes newly marked historical")
            with unit_of_work(engine) as session:
                existing = session.scalar(
                    select(func.count()).select_from(Resident).where(Resident.province_code == province)
                )
            if existing:
                console.print(f"population: {existing:,} residents already in province {province}, kept")
            else:
                insert_population(engine, size=size, province=province, seed=seed)
                console.print(f"population: {size:,} synthetic residents generated in province {province}")
            accounts = _ensure_demo_users(engine, province)
            from ektp.blanko.demo_scenario import seed_blanko_demo

            with unit_of_work(engine) as session:
                blanko = seed_blanko_demo(session, province=province, seed=seed)
            if blanko.already_present:
                console.print("blanks: contracts, stock and requests already present, kept")
            else:
                console.print(
                    f"blanks: 2017 contracts (scaled 1:100) at the centre; {blanko.delivered:,} delivered to "
                    f"{blanko.offices} offices by an approved allocation run; {blanko.printed:,} cards printed "
                    "before going live on ektp (imported as daily totals); "
                    f"{blanko.waiting_requests} offices running low have requests waiting"
                )
            from ektp.demo_day import play_demo_day

            play_demo_day(engine, settings, province=province, seed=seed, console=console)
        finally:
            engine.dispose()

        table = Table(title="Demo accounts (passwords are new on every run)")
        for column in ("username", "password", "role", "region"):
            table.add_column(column)
        for account in accounts:
            table.add_row(
                account.username, account.password, account.role.value, account.region_code or "national"
            )
        console.print(table)
        from ektp.adjudication.demo import demo_instructions

        console.print(demo_instructions(), markup=False, highlight=False)
        url = f"http://{host}:{port}/"
        console.print(f"[bold green]ektp is ready:[/] {url}  (API: {url}api/v1/docs)")
        if serve_after:
            import uvicorn

            from ektp.app import create_app

            # Recordings made in the browser are decided by a worker inside the web process.
            served = settings.model_copy(
                update={"dedup_in_process_worker": True, "allow_synthetic_capture": True}
            )
            uvicorn.run(create_app(served), host=host, port=port, log_level="warning")
