"""HTTP API of the auth domain (placeholder until its owner fills it in)."""

from fastapi import APIRouter

router = APIRouter(tags=["auth"])
