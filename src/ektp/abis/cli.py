"""Command line of the ABIS (filled in by its owner)."""

import typer

app = typer.Typer(help="Biometric engine: evaluation, calibration, synthetic data.", no_args_is_help=True)
