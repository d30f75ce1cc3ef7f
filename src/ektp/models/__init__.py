"""All ORM models, one module per aggregate. Importing this package registers every table on
``ektp.db.metadata`` (Alembic's autogenerate and the tests rely on that)."""

from ektp.models import audit, auth, blanko, population, regions
from ektp.models import blanko_requests as blanko_requests

__all__ = ["audit", "auth", "blanko", "population", "regions"]
