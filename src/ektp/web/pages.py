"""Server-rendered pages (placeholder until the web shell is built)."""

from fastapi import FastAPI


def include_pages(app: FastAPI) -> None:
    return None
