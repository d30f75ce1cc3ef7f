"""All ORM models, one module per aggregate. Importing this package registers every table on
``ektp.db.metadata`` (Alembic's autogenerate and the tests rely on that)."""

from ektp.models import audit, auth, population, regions

__all__ = ["audit", "auth", "population", "regions"]
