"""All ORM models, one module per aggregate. Importing this package registers every table on
``ektp.db.metadata`` (Alembic's autogenerate and the tests rely on that)."""

from ektp.models import (
    adjudication,
    audit,
    auth,
    blanko,
    cards,
    dedup,
    enrollment,
    population,
    regions,
    reissue,
    suket,
)
from ektp.models import blanko_requests as blanko_requests

__all__ = [
    "adjudication",
    "audit",
    "auth",
    "blanko",
    "cards",
    "dedup",
    "enrollment",
    "population",
    "regions",
    "reissue",
    "suket",
]
