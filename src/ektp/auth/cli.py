"""Command line of the auth domain (placeholder until its owner fills it in)."""

import typer

app = typer.Typer(help="auth", no_args_is_help=True)
