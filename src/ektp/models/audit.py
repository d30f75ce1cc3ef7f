"""ORM models: audit (owner fills in)."""
