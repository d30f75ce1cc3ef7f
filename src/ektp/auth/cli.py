"""``ektp users``: create and list users, issue API tokens, deactivate and reactivate accounts.

Commands act as a central administrator named after the operating-system account that runs them
(``cli:<login>``), which is what the audit trail records."""

from __future__ import annotations

import datetime as dt
import getpass
import sys

import typer
from rich.table import Table

from ektp.auth.permissions import Principal, Role
from ektp.cli.common import DatabaseOption, cli_engine, console, domain_errors_exit
from ektp.db.session import unit_of_work
from ektp.kit.errors import invalid

app = typer.Typer(help="Users, roles and API tokens.", no_args_is_help=True)


def cli_principal() -> Principal:
    try:
        login = getpass.getuser()
    except (KeyError, OSError):
        login = "unknown"
    return Principal(user_id=None, username=f"cli:{login}"[:64], role=Role.CENTRAL_ADMIN, region_code=None)


def _read_password(password: str | None, password_stdin: bool) -> str:
    if password_stdin:
        if password is not None:
            raise invalid("password", "exclusive", "give --password or --password-stdin, not both")
        return sys.stdin.readline().rstrip("\r\n")
    if password is not None:
        return password
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


@app.command("create")
@domain_errors_exit
def create(
    username: str = typer.Argument(..., help="Login name: 3–40 of a–z, 0–9, '.', '_', '-'."),
    role: Role = typer.Option(..., "--role", help="Role of the new user."),
    region: str | None = typer.Option(None, "--region", help="Province or regency code (regional roles)."),
    full_name: str | None = typer.Option(None, "--full-name", help="Defaults to the username."),
    locale: str = typer.Option("id", "--locale", help="id or en."),
    password: str | None = typer.Option(
        None, "--password", help="Prompted (hidden, confirmed) when not given. Prefer the prompt or stdin."
    ),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Create a user."""
    from ektp.auth.service import create_user

    secret = _read_password(password, password_stdin)
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        user = create_user(
            session,
            username=username,
            password=secret,
            full_name=full_name or username,
            role=role,
            region_code=region,
            locale=locale,
            actor=cli_principal(),
        )
        console.print(
            f"created user [bold]{user.username}[/] (id {user.id}, {user.role.value}, "
            f"region {user.region_code or 'national'})"
        )


@app.command("list")
@domain_errors_exit
def list_(
    role: Role | None = typer.Option(None, "--role", help="Only this role."),
    region: str | None = typer.Option(None, "--region", help="Only users of this region or inside it."),
    limit: int = typer.Option(200, "--limit", min=1, max=10_000),
    database_url: str | None = DatabaseOption,
) -> None:
    """List users."""
    from ektp.auth import repository

    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        users = repository.list_users(session, role=role, within_region=region, limit=limit)
        table = Table(title=f"{len(users)} users")
        for column in ("id", "username", "full name", "role", "region", "active", "last login"):
            table.add_column(column, overflow="fold")
        for user in users:
            table.add_row(
                str(user.id),
                user.username,
                user.full_name,
                user.role.value,
                user.region_code or "national",
                "yes" if user.is_active else "no",
                user.last_login_at.strftime("%Y-%m-%d %H:%M UTC") if user.last_login_at else "never",
            )
        console.print(table)


@app.command("token")
@domain_errors_exit
def token(
    username: str = typer.Argument(..., help="Whose token."),
    name: str = typer.Option(..., "--name", help="What the token is for (shown in listings)."),
    ttl_days: int = typer.Option(30, "--ttl-days", min=1, max=3650, help="Lifetime in days."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Issue an API token and print its secret (shown this once, never stored)."""
    from ektp.auth.service import create_api_token, get_user_by_username

    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        user = get_user_by_username(session, username=username)
        row, secret = create_api_token(
            session, user=user, name=name, ttl=dt.timedelta(days=ttl_days), actor=cli_principal()
        )
        expires = row.expires_at.strftime("%Y-%m-%d %H:%M UTC")
    console.print(
        f"token {name!r} for {username}, expires {expires}. It is shown once; keep it safe:", style="bold"
    )
    typer.echo(secret)


@app.command("deactivate")
@domain_errors_exit
def deactivate(username: str = typer.Argument(...), database_url: str | None = DatabaseOption) -> None:
    """Stop a user from logging in; their sessions and tokens are revoked."""
    from ektp.auth.service import deactivate_user, get_user_by_username

    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        user = get_user_by_username(session, username=username)
        deactivate_user(session, user=user, actor=cli_principal())
    console.print(f"user [bold]{username}[/] deactivated; sessions and tokens revoked")


@app.command("activate")
@domain_errors_exit
def activate(username: str = typer.Argument(...), database_url: str | None = DatabaseOption) -> None:
    """Let a deactivated or locked-out user log in again."""
    from ektp.auth.service import activate_user, get_user_by_username, unlock_user

    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        user = get_user_by_username(session, username=username)
        activate_user(session, user=user, actor=cli_principal())
        unlock_user(session, user=user, actor=cli_principal())
    console.print(f"user [bold]{username}[/] active")


@app.command("set-password")
@domain_errors_exit
def set_password_(
    username: str = typer.Argument(...),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="Read the password from stdin."),
    database_url: str | None = DatabaseOption,
) -> None:
    """Set a user's password (prompted, hidden, confirmed); their web sessions end."""
    from ektp.auth.service import get_user_by_username, set_password

    secret = _read_password(None, password_stdin)
    with cli_engine(database_url) as engine, unit_of_work(engine) as session:
        user = get_user_by_username(session, username=username)
        set_password(session, user=user, password=secret, actor=cli_principal())
    console.print(f"password of [bold]{username}[/] changed")
