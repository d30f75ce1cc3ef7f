"""Assembles the Typer root from each domain's ``cli.py``."""

from __future__ import annotations

import typer

from ektp.cli.common import DatabaseOption, console, domain_errors_exit, settings_from_cli


def build_app() -> typer.Typer:
    app = typer.Typer(help="ektp — national identity card programme.", no_args_is_help=True)

    db_app = typer.Typer(help="Database schema.", no_args_is_help=True)

    @db_app.command("upgrade")
    @domain_errors_exit
    def db_upgrade(revision: str = "head", database_url: str | None = DatabaseOption) -> None:
        """Apply Alembic migrations up to REVISION (default: head)."""
        from ektp.db.migrate import upgrade

        url = settings_from_cli(database_url).database_url
        upgrade(url, revision)
        console.print(f"database at [bold]{url}[/] upgraded to {revision}")

    app.add_typer(db_app, name="db")

    from ektp.abis.cli import app as abis_app
    from ektp.audit.cli import app as audit_app
    from ektp.auth.cli import app as users_app
    from ektp.blanko.cli import app as blanko_app
    from ektp.linkage.cli import app as linkage_app
    from ektp.population.cli import app as population_app
    from ektp.regions.cli import app as regions_app
    from ektp.serve import register_serve_commands
    from ektp.simulate.cli import app as simulate_app

    app.add_typer(regions_app, name="regions")
    app.add_typer(users_app, name="users")
    app.add_typer(audit_app, name="audit")
    app.add_typer(population_app, name="residents")
    app.add_typer(simulate_app, name="simulate")
    app.add_typer(abis_app, name="abis")
    app.add_typer(linkage_app, name="linkage")
    app.add_typer(blanko_app, name="blanko")
    register_serve_commands(app)
    return app
