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
    # Any other domain with a ``cli.py`` exposing ``app`` (and optionally ``NAME``, else the domain's
    # name) joins here, so a new domain needs to touch nothing in this file.
    for name, domain_app in discovered_cli_apps():
        app.add_typer(domain_app, name=name)
    register_serve_commands(app)
    return app


#: Domains whose Typer apps ``build_app`` adds itself.
_LISTED_DOMAINS = frozenset(
    {"abis", "audit", "auth", "blanko", "cli", "linkage", "population", "regions", "simulate", "web"}
)


def discovered_cli_apps() -> list[tuple[str, typer.Typer]]:
    """``(command name, app)`` of every ``ektp.<domain>.cli`` not listed above, in name order."""
    import importlib
    import pkgutil
    from pathlib import Path

    import ektp

    found: list[tuple[str, typer.Typer]] = []
    for info in sorted(pkgutil.iter_modules(ektp.__path__), key=lambda info: info.name):
        if not info.ispkg or info.name in _LISTED_DOMAINS:
            continue
        if not any((Path(root) / info.name / "cli.py").is_file() for root in ektp.__path__):
            continue
        module = importlib.import_module(f"ektp.{info.name}.cli")
        domain_app = getattr(module, "app", None)
        if isinstance(domain_app, typer.Typer):
            found.append((str(getattr(module, "NAME", info.name)), domain_app))
    return found
