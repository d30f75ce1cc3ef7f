"""The ``ektp`` command line: one sub-command per domain."""

from __future__ import annotations

import typer

from ektp.cli.app import build_app


def main() -> None:
    app: typer.Typer = build_app()
    app()


__all__ = ["build_app", "main"]
