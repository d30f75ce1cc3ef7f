"""Command line of the simulate domain (placeholder until its owner fills it in)."""

import typer

app = typer.Typer(help="simulate", no_args_is_help=True)
