"""Database plumbing: declarative base, engine factory and units of work."""

from ektp.db.base import Base, metadata
from ektp.db.engine import make_engine
from ektp.db.session import unit_of_work

__all__ = ["Base", "make_engine", "metadata", "unit_of_work"]
