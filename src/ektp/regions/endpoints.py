"""HTTP API of the regions domain (placeholder until its owner fills it in)."""

from fastapi import APIRouter

router = APIRouter(tags=["regions"])
