"""Command line of the regions domain (placeholder until its owner fills it in)."""

import typer

app = typer.Typer(help="regions", no_args_is_help=True)
