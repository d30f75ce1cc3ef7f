"""Command line of the audit domain (placeholder until its owner fills it in)."""

import typer

app = typer.Typer(help="audit", no_args_is_help=True)
