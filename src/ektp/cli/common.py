"""Helpers shared by the CLI commands: the engine from settings, and turning domain errors into a
clear message and exit code 2 rather than a stack trace."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from sqlalchemy import Engine

from ektp.config import Settings, get_settings
from ektp.db.engine import make_engine
from ektp.kit.errors import DomainError

console = Console()
err_console = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def settings_from_cli(database_url: str | None = None) -> Settings:
    settings = get_settings()
    if database_url:
        settings = settings.model_copy(update={"database_url": database_url})
    return settings


@contextmanager
def cli_engine(database_url: str | None = None) -> Iterator[Engine]:
    engine = make_engine(settings_from_cli(database_url).database_url)
    try:
        yield engine
    finally:
        engine.dispose()


def domain_errors_exit(func: Callable[P, R]) -> Callable[P, R]:
    """Print a domain error as one line (with the field and rule) and exit 2."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            err_console.print(f"[bold red]error:[/] {escape(str(exc))}")
            raise typer.Exit(code=2) from exc

    return wrapper


DatabaseOption = typer.Option(None, "--database-url", envvar="EKTP_DATABASE_URL", help="SQLAlchemy URL.")
