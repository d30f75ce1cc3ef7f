"""HTTP API of the population domain (placeholder until its owner fills it in)."""

from fastapi import APIRouter

router = APIRouter(tags=["population"])
