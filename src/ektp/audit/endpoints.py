"""HTTP API of the audit domain (placeholder until its owner fills it in)."""

from fastapi import APIRouter

router = APIRouter(tags=["audit"])
