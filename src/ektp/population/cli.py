"""Command line of the population domain (placeholder until its owner fills it in)."""

import typer

app = typer.Typer(help="population", no_args_is_help=True)
